/**
 * The mammography hanging protocol (issue 15 §2, docs/viewer-ux.md "Hanging"): which file each
 * cell shows, which way each image is flipped and where it sits. Pure maths; the layout manager
 * (`state/layout.svelte.ts`) applies it.
 *
 * The four views hang R CC | L CC above R MLO | L MLO, the breasts facing each other with the
 * chest walls at the centre: right views (left column) have their chest wall at the cell's
 * right edge, left views (right column) at the cell's left edge. All cells share one physical
 * scale (screen pixels per millimetre).
 */

import { fitView, type Orientation, type View } from './viewport';

export type Side = 'R' | 'L';
export type MgView = 'CC' | 'MLO';

export interface ViewKey {
  side: Side;
  view: MgView;
}

/** What the placement needs of a file (a subset of `FileEntry` plus the DICOM view fields). */
export interface HangFile {
  index: number;
  modality: string | null;
  patient_id: string | null;
  study_instance_uid: string | null;
  study_date: string | null;
  series_description: string | null;
  label: string;
  view_position?: string | null;
  laterality?: string | null;
}

/** The hanging cells in grid order. */
export const HANGING_CELLS: readonly ViewKey[] = [
  { side: 'R', view: 'CC' },
  { side: 'L', view: 'CC' },
  { side: 'R', view: 'MLO' },
  { side: 'L', view: 'MLO' },
];

export const cellName = (k: ViewKey): string => `${k.side} ${k.view}`;

function sideOf(text: string | null | undefined): Side | null {
  const t = (text ?? '').trim().toUpperCase();
  if (t === 'R' || t === 'RIGHT') return 'R';
  if (t === 'L' || t === 'LEFT') return 'L';
  return null;
}

function viewOfPosition(text: string | null | undefined): MgView | null {
  const t = (text ?? '').trim().toUpperCase();
  if (t === 'CC' || t === 'XCCL' || t === 'XCCM' || t === 'FB') return 'CC';
  if (t === 'MLO' || t === 'ML' || t === 'LMO' || t === 'SIO') return 'MLO';
  return null;
}

const DESCRIBED = /(?:^|[^A-Z])(R|L|RIGHT|LEFT)[\s_\-.]*(CC|MLO)(?![A-Z])/;

/** A description such as "R CC", "LMLO", "right_cc", "DBT L-MLO" → its view, else null. */
export function viewFromText(text: string | null | undefined): ViewKey | null {
  const m = DESCRIBED.exec((text ?? '').toUpperCase());
  if (!m) return null;
  return { side: m[1].startsWith('R') ? 'R' : 'L', view: m[2] as MgView };
}

/** A file's view: ViewPosition and (Image)Laterality, else its series description, else its label. */
export function viewOf(f: HangFile): ViewKey | null {
  const side = sideOf(f.laterality);
  const view = viewOfPosition(f.view_position);
  if (side && view) return { side, view };
  const d = viewFromText(f.series_description) ?? viewFromText(f.label);
  if (!d) return null;
  return { side: side ?? d.side, view: view ?? d.view };
}

/** Mammography (2D MG, tomosynthesis DBT/BTO) with a known view. */
export function isMammo(f: HangFile): boolean {
  const m = (f.modality ?? '').toUpperCase();
  return (m === 'MG' || m === 'DBT' || m === 'BTO' || m === '') && viewOf(f) !== null;
}

/** The study to hang: the active file's when it is mammography, else the first study that is. */
export function studyToHang(files: readonly HangFile[], active: number | null): string | null {
  const a = files.find((f) => f.index === active);
  if (a && isMammo(a)) return a.study_instance_uid;
  return files.find(isMammo)?.study_instance_uid ?? null;
}

/** The file of each cell (`cells` order) in one study; null where the view is missing. */
export function hangStudy(files: readonly HangFile[], study: string | null, cells: readonly ViewKey[] = HANGING_CELLS): (number | null)[] {
  const own = files.filter((f) => f.study_instance_uid === study && isMammo(f));
  return cells.map((c) => {
    const f = own.find((g) => {
      const v = viewOf(g);
      return v !== null && v.side === c.side && v.view === c.view;
    });
    return f ? f.index : null;
  });
}

/** The prior of a study: the same patient, another study, the latest one dated before it. */
export function priorStudy(files: readonly HangFile[], study: string | null): string | null {
  const cur = files.find((f) => f.study_instance_uid === study);
  if (!cur) return null;
  const date = cur.study_date ?? '';
  let best: HangFile | null = null;
  for (const f of files) {
    if (f.patient_id !== cur.patient_id || f.study_instance_uid === study || !isMammo(f)) continue;
    const d = f.study_date ?? '';
    if (date && d && d >= date) continue;
    if (!best || d > (best.study_date ?? '')) best = f;
  }
  return best?.study_instance_uid ?? null;
}

/** The cells of "Compare with prior": the view pair on top (current), the prior's below. */
export function priorCells(view: MgView): ViewKey[] {
  return [
    { side: 'R', view },
    { side: 'L', view },
  ];
}

/** Where a view's chest wall sits on screen: at the centre of the hanging. */
export const wallOnScreen = (side: Side): 'left' | 'right' => (side === 'R' ? 'right' : 'left');

/**
 * The image side of the chest wall: the side with more tissue, i.e. the larger mean of the first
 * vs the last 5 % of columns (of the displayed values: MONOCHROME1 is inverted). `samples` is the
 * first sample of each pixel, row-major.
 */
export function chestWallSide(data: ArrayLike<number>, rows: number, columns: number, samplesPerPixel = 1, monochrome1 = false): 'left' | 'right' {
  const band = Math.max(1, Math.round(columns * 0.05));
  let left = 0;
  let right = 0;
  for (let r = 0; r < rows; r++) {
    const row = r * columns;
    for (let c = 0; c < band; c++) {
      left += data[(row + c) * samplesPerPixel];
      right += data[(row + columns - 1 - c) * samplesPerPixel];
    }
  }
  const rightHasMore = monochrome1 ? right < left : right > left;
  return rightHasMore ? 'right' : 'left';
}

/** Flip horizontally when the image's chest wall is not on the side the hanging wants. */
export const needsFlip = (wall: 'left' | 'right', want: 'left' | 'right'): boolean => wall !== want;

/** An image's physical size (mm, or pixels without spacing). */
export interface Extent {
  width: number;
  height: number;
}

/** Columns × column spacing, rows × row spacing (`spacing` = [row, column] as PixelSpacing). */
export function extentOf(rows: number, columns: number, spacing: readonly number[] | null | undefined): Extent {
  const [sr, sc] = spacing && spacing[0] > 0 && spacing[1] > 0 ? spacing : [1, 1];
  return { width: columns * sc, height: rows * sr };
}

/** The extent every cell must fit: the largest width and height of the hung images. */
export function commonExtent(extents: readonly Extent[]): Extent {
  return extents.reduce((a, e) => ({ width: Math.max(a.width, e.width), height: Math.max(a.height, e.height) }), { width: 0, height: 0 });
}

/** What a hung viewport needs to place itself in its cell. */
export interface Hang {
  /** The cell's name ("R CC"). */
  name: string;
  /** Where the chest wall goes on screen. */
  wall: 'left' | 'right';
  /** The common extent (same unit as `columnSpacing` × columns). */
  extent: Extent;
  /** The column spacing of this image (1 without spacing). */
  columnSpacing: number;
}

/**
 * The view of a hung image in a cell of `canvas` size: zoom so the common extent fits (the same
 * screen pixels per mm in every cell), the chest-wall column at the cell edge `hang.wall`, the
 * image's top row at the cell's top. `flipH` is the image's flip; rotation is 0.
 */
export function hangView(hang: Hang, image: { rows: number; columns: number }, canvas: { width: number; height: number }, flipH: boolean): View {
  const { extent } = hang;
  const perMm = extent.width > 0 && extent.height > 0 ? Math.min(canvas.width / extent.width, canvas.height / extent.height) : 1;
  const zoom = perMm * hang.columnSpacing;
  const s = flipH ? -1 : 1;
  // screen x = W/2 + zoom·s·(x − cx); the displayed wall column is where the edge `wall` is
  const wallColumn = (hang.wall === 'right') !== flipH ? image.columns : 0;
  const target = hang.wall === 'right' ? canvas.width / 2 : -canvas.width / 2;
  const cx = wallColumn - target / (zoom * s);
  const cy = canvas.height / (2 * zoom);
  return { cx, cy, zoom, rotation: 0, flipH, flipV: false };
}

/**
 * A viewport's view before the user zooms or pans (its placement is null): placed in its hanging
 * cell (unrotated, not flipped vertically), else fitted to the canvas. `image` is the image's
 * size; `aspect` stretches its rows (the physical aspect of stack planes).
 */
export function baseView(
  hang: Hang | null,
  image: { rows: number; columns: number },
  aspect: number,
  canvas: { width: number; height: number },
  o: Orientation,
): View {
  if (hang && canvas.width > 0 && o.rotation === 0 && !o.flipV) return hangView(hang, image, canvas, o.flipH);
  return fitView({ width: image.columns, height: image.rows * aspect }, canvas, o);
}

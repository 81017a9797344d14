/**
 * Multi-planar reformat maths, pure: the patient-space directions of a stack's images on each
 * axis (docs/api.md "Series stacks, reformats and statistics"), radiological orientation letters
 * at the viewport edges, the physical aspect of a plane, and the crosshair and reference lines
 * that tie the three planes together. Points are voxel indices of the volume: slice `s` (axis 0),
 * row `r` (axis 1), column `c` (axis 2).
 */

import type { Axis, VolumeInfo } from './api';
import { imageToScreenMatrix, invert, type Affine, type Orientation, type Point } from './viewport';

export type Vec3 = [number, number, number];

export interface Voxel {
  s: number;
  r: number;
  c: number;
}

/** a × b (with +0 for zero components). */
const cross = (a: Vec3, b: Vec3): Vec3 => [a[1] * b[2] - a[2] * b[1] + 0, a[2] * b[0] - a[0] * b[2] + 0, a[0] * b[1] - a[1] * b[0] + 0];

/** Row cosines r⃗, column cosines c⃗ and the normal n⃗ = r⃗ × c⃗ of a volume. */
export function volumeAxes(v: Pick<VolumeInfo, 'orientation'>): { r: Vec3; c: Vec3; n: Vec3 } {
  const o = v.orientation;
  const r: Vec3 = [o[0], o[1], o[2]];
  const c: Vec3 = [o[3], o[4], o[5]];
  return { r, c, n: cross(r, c) };
}

/**
 * The patient directions of an axis's image as stored: `right` along image columns (x),
 * `down` along image rows (y). Axis 0: r⃗, c⃗; axis 1 (constant row): r⃗, n⃗; axis 2: c⃗, n⃗.
 */
export function imageDirections(v: Pick<VolumeInfo, 'orientation'>, axis: Axis): { right: Vec3; down: Vec3 } {
  const { r, c, n } = volumeAxes(v);
  if (axis === 0) return { right: r, down: c };
  if (axis === 1) return { right: r, down: n };
  return { right: c, down: n };
}

/** Image size of a plane: axis 0 rows × columns, axis 1 slices × columns, axis 2 slices × rows. */
export function planeSize(v: Pick<VolumeInfo, 'shape'>, axis: Axis): { rows: number; columns: number } {
  const [n, rows, cols] = v.shape;
  if (axis === 0) return { rows, columns: cols };
  if (axis === 1) return { rows: n, columns: cols };
  return { rows: n, columns: rows };
}

/** How many planes an axis has: slices, rows or columns. */
export function planeCount(v: Pick<VolumeInfo, 'shape'>, axis: Axis): number {
  return v.shape[axis];
}

/** [row, column] spacing (mm) of a plane's image: axis 0 [Δrow, Δcol], axis 1 [slice, Δcol], axis 2 [slice, Δrow]. */
export function planeSpacing(v: Pick<VolumeInfo, 'spacing'>, axis: Axis): [number, number] {
  const [s, dr, dc] = v.spacing;
  if (axis === 0) return [dr, dc];
  if (axis === 1) return [s, dc];
  return [s, dr];
}

/** Screen height of one image row per screen width of one column: row spacing / column spacing (1 when unknown). */
export function aspectOf(spacing: readonly number[] | null | undefined): number {
  if (!spacing || spacing.length < 2) return 1;
  const [row, col] = spacing;
  return row > 0 && col > 0 && Number.isFinite(row / col) ? row / col : 1;
}

const LETTERS: [string, string][] = [
  ['L', 'R'], // +x is the patient's left (LPS)
  ['P', 'A'], // +y posterior
  ['S', 'I'], // +z superior
];

/**
 * The orientation letters of a patient direction: the main axis first, then any other axis
 * that contributes at least `minor` (cosine), largest first ("L", "LP", "SAR"…).
 */
export function directionLetters(d: Vec3, minor = 0.25): string {
  const len = Math.hypot(d[0], d[1], d[2]);
  if (!(len > 0)) return '';
  const parts = [0, 1, 2]
    .map((i) => ({ i, v: d[i] / len }))
    .filter((p) => Math.abs(p.v) >= minor)
    .sort((a, b) => Math.abs(b.v) - Math.abs(a.v));
  return parts.map((p) => LETTERS[p.i][p.v > 0 ? 0 : 1]).join('');
}

const neg = (v: Vec3): Vec3 => [-v[0], -v[1], -v[2]];

/** The patient direction of a screen direction, given the image's directions and how it is turned. */
function screenToPatient(dir: Point, right: Vec3, down: Vec3, o: Orientation): Vec3 {
  const m = invert(imageToScreenMatrix({ cx: 0, cy: 0, zoom: 1, ...o }, { width: 0, height: 0 }));
  const ix = m.a * dir.x + m.c * dir.y;
  const iy = m.b * dir.x + m.d * dir.y;
  return [0, 1, 2].map((k) => ix * right[k] + iy * down[k]) as Vec3;
}

export interface EdgeLetters {
  top: string;
  right: string;
  bottom: string;
  left: string;
}

/** Letters at the four viewport edges for an image with directions `right`/`down`, as turned on screen. */
export function edgeLetters(right: Vec3, down: Vec3, o: Orientation): EdgeLetters {
  const sr = screenToPatient({ x: 1, y: 0 }, right, down, o);
  const sd = screenToPatient({ x: 0, y: 1 }, right, down, o);
  return { right: directionLetters(sr), left: directionLetters(neg(sr)), bottom: directionLetters(sd), top: directionLetters(neg(sd)) };
}

/**
 * Whether a reformat is shown flipped vertically so it reads the radiological way: the
 * screen's "down" should point to the feet (I), the back (P) or the patient's left, whichever
 * axis the image's down direction mostly follows. (An axial stack's reformats: S at the top.)
 */
export function reformatFlip(down: Vec3): boolean {
  const a = [0, 1, 2].reduce((best, k) => (Math.abs(down[k]) > Math.abs(down[best]) ? k : best), 0);
  const wanted = a === 2 ? -1 : 1; // z: inferior (−z) down; y: posterior (+y) down; x: left (+x) down
  return Math.sign(down[a]) !== wanted && down[a] !== 0;
}

/** The plane index an axis shows at a voxel. */
export function planeOf(p: Voxel, axis: Axis): number {
  return axis === 0 ? p.s : axis === 1 ? p.r : p.c;
}

/** The voxel's centre in an axis's image coordinates (x = column, y = row). */
export function voxelInImage(p: Voxel, axis: Axis): Point {
  if (axis === 0) return { x: p.c + 0.5, y: p.r + 0.5 };
  if (axis === 1) return { x: p.c + 0.5, y: p.s + 0.5 };
  return { x: p.r + 0.5, y: p.s + 0.5 };
}

const clampIndex = (v: number, n: number): number => Math.max(0, Math.min(n - 1, Math.floor(v)));

/**
 * The crosshair moved to image point `q` of an axis's viewport: the two coordinates that image
 * shows change (clamped to the volume), its own plane stays.
 */
export function voxelFromImage(p: Voxel, axis: Axis, q: Point, shape: readonly [number, number, number]): Voxel {
  const [n, rows, cols] = shape;
  if (axis === 0) return { s: p.s, r: clampIndex(q.y, rows), c: clampIndex(q.x, cols) };
  if (axis === 1) return { s: clampIndex(q.y, n), r: p.r, c: clampIndex(q.x, cols) };
  return { s: clampIndex(q.y, n), r: clampIndex(q.x, rows), c: p.c };
}

/** A line of another plane across this image: horizontal (`y = at`) or vertical (`x = at`), image coordinates. */
export interface ReferenceLine {
  /** The axis of the plane the line shows. */
  plane: Axis;
  direction: 'h' | 'v';
  at: number;
}

/**
 * Where the other two planes cut an axis's image (they cross at the crosshair voxel). All the
 * planes come from one volume, so each line runs along image rows or columns.
 */
export function referenceLines(p: Voxel, axis: Axis): ReferenceLine[] {
  if (axis === 0)
    return [
      { plane: 1, direction: 'h', at: p.r + 0.5 },
      { plane: 2, direction: 'v', at: p.c + 0.5 },
    ];
  if (axis === 1)
    return [
      { plane: 0, direction: 'h', at: p.s + 0.5 },
      { plane: 2, direction: 'v', at: p.c + 0.5 },
    ];
  return [
    { plane: 0, direction: 'h', at: p.s + 0.5 },
    { plane: 1, direction: 'v', at: p.r + 0.5 },
  ];
}

/** The viewport name of a plane ("Axial", "Coronal", "Sagittal" or "Oblique"), docs/viewer-ux.md. */
export function planeName(label: string | undefined): string {
  const l = (label ?? 'oblique').toLowerCase();
  return ['axial', 'coronal', 'sagittal'].includes(l) ? l[0].toUpperCase() + l.slice(1) : 'Oblique';
}

/** The colour of each plane's reference line (the same in every viewport). */
export const PLANE_COLOURS: Record<Axis, string> = { 0: '#ffd23f', 1: '#3fb8ff', 2: '#ff6b9a' };

/** An image → screen map with image rows stretched by `aspect` (image y·aspect is the display y the view works in). */
export function stretchRows(m: Affine, aspect: number): Affine {
  return aspect === 1 ? m : { ...m, c: m.c * aspect, d: m.d * aspect };
}

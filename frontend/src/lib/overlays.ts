/**
 * Overlays (DICOM SEG, RT Structure Sets, masks): the server's shapes (docs/api.md "Overlays")
 * and the pure maths the renderers share. The shown segments of a frame are *stacked* in order
 * (overlays as listed, then segment number), each laid over the ones below it with its coverage
 * (binary 1, fractional value / 255), into one RGBA image (`composeSegments`: the stack's colour
 * and coverage); the renderers blend that on the image at the chosen opacity:
 * `mix(image, colour, opacity × coverage)`. So a fractional segment is graded, a lower segment
 * shows wherever no shown segment covers it fully, and opacity is one uniform.
 */

import type { Api } from './api';

export interface OverlaySegment {
  number: number;
  label: string;
  color: [number, number, number];
}

export interface OverlayTarget {
  file: number;
  frames: number[];
}

export interface OverlayInfo {
  id: string;
  kind: 'segmentation' | 'contours' | 'mask';
  label: string;
  source: string;
  segments: OverlaySegment[];
  targets: OverlayTarget[];
  reason?: string | null;
  fractional?: boolean;
}

export interface OverlaysResponse {
  overlays: OverlayInfo[];
  scan_complete?: boolean;
}

export interface SegmentCounts {
  number: number;
  pixels: number;
  area_mm2: number | null;
  volume_ml: number | null;
  /** [file, frame, pixels] per target frame. */
  frames: [number, number, number][];
}

export interface OverlayCounts {
  id: string;
  segments: SegmentCounts[];
}

/**
 * One frame's label map (each pixel the highest segment number covering it, 0 none) or one
 * segment's mask (0–255: 255 = covered, fractional values graded).
 */
export interface LabelMap {
  rows: number;
  columns: number;
  data: Uint8Array | Uint16Array;
  /** A label map's `X-Segments-Overlap`: false = no pixel has two segments (undefined: unknown). */
  overlap?: boolean;
}

/** The composed segments of a frame: RGBA per pixel, the stack's colour and its coverage (alpha). */
export interface SegmentImage {
  rows: number;
  columns: number;
  data: Uint8Array;
}

/** How the composed segments are blended on the image. */
export interface SegmentStyle {
  /** 0–1. */
  opacity: number;
}

/** One layer of the stack: a label map (its shown segments' colours by number) or a segment mask. */
export type SegmentSource =
  | { kind: 'labels'; map: LabelMap; colours: ReadonlyMap<number, readonly [number, number, number]> }
  | { kind: 'mask'; map: LabelMap; number: number; colour: readonly [number, number, number] };

/** What the user chose: overlays and segments shown, opacity 0–1, outline mode, the O key. */
export interface OverlaySettings {
  all: boolean;
  hiddenOverlays: ReadonlySet<string>;
  /** `${overlayId}:${segmentNumber}` */
  hiddenSegments: ReadonlySet<string>;
  opacity: number;
  outline: boolean;
}

/** The segments of an overlay that are shown (none when the overlay or all overlays are off). */
export function shownSegments(o: OverlayInfo, s: OverlaySettings): OverlaySegment[] {
  if (!s.all || s.hiddenOverlays.has(o.id)) return [];
  return o.segments.filter((seg) => !s.hiddenSegments.has(`${o.id}:${seg.number}`));
}

/**
 * What to ask the server for to draw an overlay's shown segments on one frame (docs/api.md):
 * `segment/{n}` of each shown one for a fractional overlay; else one `labels` while every
 * segment is shown or the frame's full map is known not to overlap (`full`), and
 * `labels?segments=…` of the shown ones otherwise. Empty when nothing is shown.
 */
export function overlayRoutes(o: OverlayInfo, shown: readonly OverlaySegment[], full: LabelMap | null | undefined): string[] {
  if (!shown.length) return [];
  if (o.fractional) return shown.map((s) => `segment/${s.number}`);
  if (shown.length === o.segments.length || full?.overlap === false) return ['labels'];
  return [`labels?segments=${shown.map((s) => s.number).join(',')}`];
}

/** The stack's layers of one overlay from the maps of its routes (`overlayRoutes`, same order; null: missing). */
export function overlaySources(o: OverlayInfo, shown: readonly OverlaySegment[], maps: readonly (LabelMap | null)[]): SegmentSource[] {
  const out: SegmentSource[] = [];
  if (!shown.length) return out;
  if (o.fractional) {
    shown.forEach((s, i) => {
      const map = maps[i];
      if (map) out.push({ kind: 'mask', map, number: s.number, colour: s.color });
    });
  } else if (maps[0]) {
    out.push({ kind: 'labels', map: maps[0], colours: new Map(shown.map((s) => [s.number, s.color])) });
  }
  return out;
}

/**
 * Compose the stack (bottom first) into straight-alpha RGBA: over each pixel, a layer with
 * coverage `a` (labels: 1 where a shown segment is; masks: value / 255) makes the colour
 * `a·c + (1 − a)·below` (premultiplied) and the coverage `a + (1 − a)·below`. In outline mode a
 * layer covers (fully) only its border pixels: a label pixel with a 4-neighbour of another
 * label, a mask pixel at 50 % or more with a neighbour below 50 %, or either at the image edge.
 * Layers of another size are skipped.
 */
export function composeSegments(sources: readonly SegmentSource[], rows: number, columns: number, outline: boolean): SegmentImage {
  const n = rows * columns;
  if (sources.every((s) => s.kind === 'labels')) return composeLabels(sources as LabelsSource[], rows, columns, outline);
  const r = new Float32Array(n);
  const g = new Float32Array(n);
  const b = new Float32Array(n);
  const cover = new Float32Array(n);
  const lay = (i: number, a: number, c: readonly [number, number, number]): void => {
    const k = 1 - a;
    r[i] = a * c[0] + k * r[i];
    g[i] = a * c[1] + k * g[i];
    b[i] = a * c[2] + k * b[i];
    cover[i] = a + k * cover[i];
  };
  const last = columns - 1;
  const bottom = rows - 1;
  for (const src of sources) {
    const { map } = src;
    if (map.rows !== rows || map.columns !== columns) continue;
    const d = map.data;
    if (src.kind === 'labels') {
      eachLabelPixel(d, rows, columns, src.colours, outline, (i, c) => lay(i, 1, c));
    } else {
      const c = src.colour;
      for (let i = 0; i < n; i++) {
        const v = d[i];
        if (!v) continue;
        if (outline) {
          if (v < 128) continue;
          const x = i % columns;
          const y = (i - x) / columns;
          const edge = x === 0 || y === 0 || x === last || y === bottom || d[i - 1] < 128 || d[i + 1] < 128 || d[i - columns] < 128 || d[i + columns] < 128;
          if (edge) lay(i, 1, c);
        } else {
          lay(i, v / 255, c);
        }
      }
    }
  }
  const data = new Uint8Array(n * 4);
  for (let i = 0; i < n; i++) {
    const a = cover[i];
    if (a <= 0) continue;
    const j = i * 4;
    data[j] = Math.round(r[i] / a);
    data[j + 1] = Math.round(g[i] / a);
    data[j + 2] = Math.round(b[i] / a);
    data[j + 3] = Math.round(a * 255);
  }
  return { rows, columns, data };
}

type LabelsSource = Extract<SegmentSource, { kind: 'labels' }>;
type Rgb = readonly [number, number, number];

/** `composeSegments` of label maps only (every coverage 1: the top shown label wins), in one pass each. */
function composeLabels(sources: readonly LabelsSource[], rows: number, columns: number, outline: boolean): SegmentImage {
  const data = new Uint8Array(rows * columns * 4);
  for (const { map, colours } of sources) {
    if (map.rows !== rows || map.columns !== columns) continue;
    eachLabelPixel(map.data, rows, columns, colours, outline, (i, c) => {
      const j = i * 4;
      data[j] = c[0];
      data[j + 1] = c[1];
      data[j + 2] = c[2];
      data[j + 3] = 255;
    });
  }
  return { rows, columns, data };
}

/**
 * Visit each pixel of a label map (`rows` × `columns`) whose label has a colour, with that colour;
 * in outline mode only those on their label's border (a 4-neighbour of another label, or the image edge).
 */
function eachLabelPixel(d: LabelMap['data'], rows: number, columns: number, colours: ReadonlyMap<number, Rgb>, outline: boolean, visit: (i: number, c: Rgb) => void): void {
  const n = rows * columns;
  const last = columns - 1;
  const bottom = rows - 1;
  for (let i = 0; i < n; i++) {
    const v = d[i];
    if (!v) continue;
    const c = colours.get(v);
    if (!c) continue;
    if (outline) {
      const x = i % columns;
      const y = (i - x) / columns;
      if (!(x === 0 || y === 0 || x === last || y === bottom || d[i - 1] !== v || d[i + 1] !== v || d[i - columns] !== v || d[i + columns] !== v)) continue;
    }
    visit(i, c);
  }
}

/**
 * Blend composed segments into painted pixels (0xAABBGGRR words, the CPU kernel's layout):
 * `round(image + (colour − image) · opacity · coverage)` per channel (the shader's `mix`).
 */
export function blendSegments(px: Uint32Array, img: SegmentImage, style: SegmentStyle): void {
  const n = img.rows * img.columns;
  if (px.length < n) return;
  const d = img.data;
  const opacity = Math.min(1, Math.max(0, style.opacity));
  if (!opacity) return;
  for (let i = 0; i < n; i++) {
    const j = i * 4;
    const cover = d[j + 3];
    if (!cover) continue;
    const a = (opacity * cover) / 255;
    const p = px[i];
    const mix = (c: number, shift: number): number => {
      const base = (p >>> shift) & 0xff;
      return Math.round(base + (c - base) * a) << shift;
    };
    px[i] = (0xff000000 | mix(d[j + 2], 16) | mix(d[j + 1], 8) | mix(d[j], 0)) >>> 0;
  }
}

/**
 * A reformat plane of one overlay's label maps over a stack's slices (null = slice not covered),
 * laid out like the server's reformat images (docs/api.md "Series stacks"): image row r is slice
 * r; `axis` 1 is the plane of constant row `k` (columns wide), 2 of constant column `k` (rows wide).
 */
export function reformatLabels(slices: readonly (LabelMap | null)[], rows: number, columns: number, axis: 1 | 2, k: number): LabelMap {
  const n = slices.length;
  const width = axis === 1 ? columns : rows;
  const data = new Uint16Array(n * width);
  slices.forEach((m, r) => {
    if (!m || m.rows !== rows || m.columns !== columns) return;
    const d = m.data;
    const out = r * width;
    if (axis === 1) for (let c = 0; c < columns; c++) data[out + c] = d[k * columns + c];
    else for (let i = 0; i < rows; i++) data[out + i] = d[i * columns + k];
  });
  return { rows: n, columns: width, data };
}

/**
 * The shown segments under a pixel, overlay by overlay (`sources[k]`: overlay k's layers): the
 * label of a label map there, and each fractional segment with a value there (`fraction` 0–1).
 */
export function segmentsAt(
  overlays: readonly OverlayInfo[],
  sources: readonly (readonly SegmentSource[])[],
  row: number,
  column: number,
): { overlay: OverlayInfo; segment: OverlaySegment; fraction: number | null }[] {
  const out: { overlay: OverlayInfo; segment: OverlaySegment; fraction: number | null }[] = [];
  overlays.forEach((o, k) => {
    for (const src of sources[k] ?? []) {
      const m = src.map;
      if (row < 0 || column < 0 || row >= m.rows || column >= m.columns) continue;
      const v = m.data[row * m.columns + column];
      if (!v) continue;
      const number = src.kind === 'labels' ? v : src.number;
      if (src.kind === 'labels' && !src.colours.has(v)) continue;
      const segment = o.segments.find((s) => s.number === number);
      if (segment) out.push({ overlay: o, segment, fraction: src.kind === 'mask' ? v / 255 : null });
    }
  });
  return out;
}

/** Whether an overlay covers a file's frame. */
export function covers(o: OverlayInfo, file: number, frame: number): boolean {
  return o.targets.some((t) => t.file === file && t.frames.includes(frame));
}

/** The covered pixels of a segment on one target frame (0 when the frame is not listed). */
export function framePixels(c: SegmentCounts, file: number, frame: number): number {
  for (const [f, fr, n] of c.frames) if (f === file && fr === frame) return n;
  return 0;
}

// ---- the routes ---------------------------------------------------------------------------------

export async function fetchOverlays(api: Api): Promise<OverlaysResponse> {
  const res = await api.request('overlays');
  return (await res.json()) as OverlaysResponse;
}

export async function fetchCounts(api: Api, id: string): Promise<OverlayCounts> {
  const res = await api.request(`overlay/${encodeURIComponent(id)}/counts`);
  return (await res.json()) as OverlayCounts;
}

/** A label map or segment mask of a target frame: `route` is `labels`, `labels?segments=1,3` or `segment/2`. */
export async function fetchOverlayMap(api: Api, id: string, file: number, frame: number, route: string, signal?: AbortSignal): Promise<LabelMap> {
  const res = await api.request(`overlay/${encodeURIComponent(id)}/file/${file}/frame/${frame}/${route}`, { signal });
  const buf = await res.arrayBuffer();
  const rows = Number(res.headers.get('X-Frame-Rows'));
  const columns = Number(res.headers.get('X-Frame-Columns'));
  const data = res.headers.get('X-Frame-Bits-Allocated') === '16' ? new Uint16Array(buf) : new Uint8Array(buf);
  const flag = res.headers.get('X-Segments-Overlap');
  return flag === null ? { rows, columns, data } : { rows, columns, data, overlap: flag === '1' };
}

/**
 * Overlays (DICOM SEG, RT Structure Sets, masks): the server's shapes (docs/api.md "Overlays")
 * and the pure maths the renderers share. Every overlay's label map of a frame is merged into
 * one uint16 map of *global* segment indices (overlay k's segment n → `offsets[k] + n`), so a
 * single texture and a small colour table (one RGBA entry per global index) draw them all; a
 * visibility, opacity or outline change only rebuilds the table.
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

/** One frame's label map: each pixel the highest segment number covering it (0 none). */
export interface LabelMap {
  rows: number;
  columns: number;
  data: Uint8Array | Uint16Array;
}

/** The merged map of every overlay on one frame (global indices, see `offsets`). */
export interface MergedLabels {
  rows: number;
  columns: number;
  data: Uint16Array;
}

/** How segments are drawn: a RGBA table by global index (alpha 0 = hidden) and fill or outline. */
export interface SegmentStyle {
  /** 4 bytes per global index; entry 0 is unused (no segment). */
  lut: Uint8Array;
  outline: boolean;
}

/** What the user chose: overlays and segments shown, opacity 0–1, outline mode, the O key. */
export interface OverlaySettings {
  all: boolean;
  hiddenOverlays: ReadonlySet<string>;
  /** `${overlayId}:${segmentNumber}` */
  hiddenSegments: ReadonlySet<string>;
  opacity: number;
  outline: boolean;
}

/** The first global index of each overlay's segments (index 0 means "none"). */
export function labelOffsets(overlays: readonly OverlayInfo[]): number[] {
  const out: number[] = [];
  let next = 0;
  for (const o of overlays) {
    out.push(next);
    next += Math.max(0, ...o.segments.map((s) => s.number));
  }
  return out;
}

/** The number of global indices (table entries, 0 included). */
export function labelCount(overlays: readonly OverlayInfo[]): number {
  const off = labelOffsets(overlays);
  const k = overlays.length - 1;
  return k < 0 ? 1 : off[k] + Math.max(0, ...overlays[k].segments.map((s) => s.number)) + 1;
}

/** The colour/visibility table of the settings (see `SegmentStyle.lut`). */
export function buildSegmentLut(overlays: readonly OverlayInfo[], s: OverlaySettings): Uint8Array {
  const lut = new Uint8Array(labelCount(overlays) * 4);
  const offsets = labelOffsets(overlays);
  const alpha = Math.round(Math.min(1, Math.max(0, s.opacity)) * 255);
  overlays.forEach((o, k) => {
    const shown = s.all && !s.hiddenOverlays.has(o.id);
    for (const seg of o.segments) {
      const at = (offsets[k] + seg.number) * 4;
      lut[at] = seg.color[0];
      lut[at + 1] = seg.color[1];
      lut[at + 2] = seg.color[2];
      lut[at + 3] = shown && !s.hiddenSegments.has(`${o.id}:${seg.number}`) ? alpha : 0;
    }
  });
  return lut;
}

/**
 * Merge per-overlay label maps (in overlay order; null = that overlay does not cover the frame)
 * into global indices; a later overlay is drawn over an earlier one where both cover a pixel.
 */
export function mergeLabels(maps: readonly (LabelMap | null)[], offsets: readonly number[], rows: number, columns: number): MergedLabels {
  const n = rows * columns;
  const data = new Uint16Array(n);
  maps.forEach((m, k) => {
    if (!m || m.rows !== rows || m.columns !== columns) return;
    const off = offsets[k];
    const d = m.data;
    for (let i = 0; i < n; i++) if (d[i]) data[i] = off + d[i];
  });
  return { rows, columns, data };
}

/**
 * The outline of each labelled region: a labelled pixel whose 4-neighbour has another label, or
 * which touches the image edge. 1 = outline pixel. The GPU shader applies the same rule.
 */
export function outlineMask(l: MergedLabels): Uint8Array {
  const { rows, columns, data } = l;
  const out = new Uint8Array(rows * columns);
  for (let y = 0; y < rows; y++) {
    for (let x = 0; x < columns; x++) {
      const i = y * columns + x;
      const v = data[i];
      if (!v) continue;
      if (
        x === 0 ||
        y === 0 ||
        x === columns - 1 ||
        y === rows - 1 ||
        data[i - 1] !== v ||
        data[i + 1] !== v ||
        data[i - columns] !== v ||
        data[i + columns] !== v
      )
        out[i] = 1;
    }
  }
  return out;
}

/**
 * Blend the segments into painted pixels (0xAABBGGRR words, the CPU kernel's layout): each
 * labelled (or, in outline mode, outline) pixel is mixed with its table colour by its alpha.
 */
export function blendSegments(px: Uint32Array, l: MergedLabels, style: SegmentStyle, outline: Uint8Array | null = null): void {
  const n = l.rows * l.columns;
  if (px.length < n) return;
  const { lut } = style;
  const d = l.data;
  const edge = style.outline ? (outline ?? outlineMask(l)) : null;
  const entries = lut.length >> 2;
  for (let i = 0; i < n; i++) {
    const v = d[i];
    if (!v || v >= entries || (edge && !edge[i])) continue;
    const a = lut[v * 4 + 3];
    if (!a) continue;
    const p = px[i];
    const mix = (c: number, shift: number): number => {
      const base = (p >>> shift) & 0xff;
      return Math.round(base + ((c - base) * a) / 255) << shift;
    };
    px[i] = (0xff000000 | mix(lut[v * 4 + 2], 16) | mix(lut[v * 4 + 1], 8) | mix(lut[v * 4], 0)) >>> 0;
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

/** The segments of the overlays covering a pixel (the highest segment number of each overlay). */
export function segmentsAt(
  overlays: readonly OverlayInfo[],
  maps: readonly (LabelMap | null)[],
  row: number,
  column: number,
): { overlay: OverlayInfo; segment: OverlaySegment }[] {
  const out: { overlay: OverlayInfo; segment: OverlaySegment }[] = [];
  overlays.forEach((o, k) => {
    const m = maps[k];
    if (!m || row < 0 || column < 0 || row >= m.rows || column >= m.columns) return;
    const v = m.data[row * m.columns + column];
    if (!v) return;
    const segment = o.segments.find((s) => s.number === v);
    if (segment) out.push({ overlay: o, segment });
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

export async function fetchLabels(api: Api, id: string, file: number, frame: number, signal?: AbortSignal): Promise<LabelMap> {
  const res = await api.request(`overlay/${encodeURIComponent(id)}/file/${file}/frame/${frame}/labels`, { signal });
  const buf = await res.arrayBuffer();
  const rows = Number(res.headers.get('X-Frame-Rows'));
  const columns = Number(res.headers.get('X-Frame-Columns'));
  const data = res.headers.get('X-Frame-Bits-Allocated') === '16' ? new Uint16Array(buf) : new Uint8Array(buf);
  return { rows, columns, data };
}

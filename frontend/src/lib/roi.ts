/**
 * ROI geometry: boxes in image pixel units, the RoiSet wire shape, hit testing, the 8 resize
 * handles, moves and resizes clamped to the image.
 *
 * Wire boxes are `[ymin, xmin, ymax, xmax]`; a frame list of `[]` means every frame.
 */

import type { RoiSet } from './api';
import type { Point } from './viewport';

export interface Box {
  y0: number;
  x0: number;
  y1: number;
  x1: number;
  /** Frame indices the box applies to; empty = all frames. */
  frames: number[];
}

export type Handle = 'n' | 's' | 'e' | 'w' | 'ne' | 'nw' | 'se' | 'sw';
export const HANDLES: readonly Handle[] = ['nw', 'n', 'ne', 'e', 'se', 's', 'sw', 'w'];

/** Saturated outline colours, cycled by ROI number. */
export const ROI_COLOURS = ['#ff3b30', '#30d158', '#0a84ff', '#ffd60a', '#ff9f0a', '#bf5af2', '#64d2ff', '#ff375f'];

export function roiColour(i: number): string {
  return ROI_COLOURS[i % ROI_COLOURS.length];
}

export function fromRoiSet(set: RoiSet): Box[] {
  return set.roi_coords.map((c, i) => ({
    y0: c[0],
    x0: c[1],
    y1: c[2],
    x1: c[3],
    frames: [...(set.roi_frames[i] ?? [])],
  }));
}

export function toRoiSet(boxes: Box[]): RoiSet {
  return {
    num_roi: boxes.length,
    roi_coords: boxes.map((b) => [b.y0, b.x0, b.y1, b.x1]),
    roi_frames: boxes.map((b) => [...b.frames]),
  };
}

/** Corners ordered so y0 ≤ y1 and x0 ≤ x1. */
export function normalize(b: Box): Box {
  return {
    y0: Math.min(b.y0, b.y1),
    x0: Math.min(b.x0, b.x1),
    y1: Math.max(b.y0, b.y1),
    x1: Math.max(b.x0, b.x1),
    frames: b.frames,
  };
}

export function appliesTo(b: Box, frame: number): boolean {
  return b.frames.length === 0 || b.frames.includes(frame);
}

/** Round to whole pixels and clamp into the image. */
export function snap(b: Box, rows: number, columns: number): Box {
  const n = normalize(b);
  const cy = (v: number): number => Math.min(rows, Math.max(0, Math.round(v)));
  const cx = (v: number): number => Math.min(columns, Math.max(0, Math.round(v)));
  return { y0: cy(n.y0), x0: cx(n.x0), y1: cy(n.y1), x1: cx(n.x1), frames: n.frames };
}

/** A box spanned by two image points (drawn with the ROI tool). */
export function boxFromDrag(a: Point, b: Point, frames: number[]): Box {
  return normalize({ y0: a.y, x0: a.x, y1: b.y, x1: b.x, frames });
}

export function area(b: Box): number {
  return Math.abs(b.y1 - b.y0) * Math.abs(b.x1 - b.x0);
}

/** Image position of a handle. */
export function handlePoint(b: Box, h: Handle): Point {
  const n = normalize(b);
  const xm = (n.x0 + n.x1) / 2;
  const ym = (n.y0 + n.y1) / 2;
  const x = h.includes('w') ? n.x0 : h.includes('e') ? n.x1 : xm;
  const y = h.startsWith('n') ? n.y0 : h.startsWith('s') ? n.y1 : ym;
  return { x, y };
}

/** The handle within `tolerance` image units of `p`, if any. */
export function hitHandle(b: Box, p: Point, tolerance: number): Handle | null {
  let best: Handle | null = null;
  let bestD = Infinity;
  for (const h of HANDLES) {
    const q = handlePoint(b, h);
    const d = Math.max(Math.abs(q.x - p.x), Math.abs(q.y - p.y));
    if (d <= tolerance && d < bestD) {
      best = h;
      bestD = d;
    }
  }
  return best;
}

/** Whether `p` is inside the box or within `tolerance` of its outline. */
export function hitBox(b: Box, p: Point, tolerance: number): boolean {
  const n = normalize(b);
  return p.x >= n.x0 - tolerance && p.x <= n.x1 + tolerance && p.y >= n.y0 - tolerance && p.y <= n.y1 + tolerance;
}

/** Topmost (last drawn, then smallest) box under `p` among those shown on `frame`. */
export function pickBox(boxes: Box[], frame: number, p: Point, tolerance: number): number {
  let best = -1;
  for (let i = boxes.length - 1; i >= 0; i--) {
    const b = boxes[i];
    if (!appliesTo(b, frame) || !hitBox(b, p, tolerance)) continue;
    if (best < 0 || area(b) < area(boxes[best])) best = i;
  }
  return best;
}

/** Move a box by (dx, dy), kept inside the image. */
export function moveBox(b: Box, dx: number, dy: number, rows: number, columns: number): Box {
  const n = normalize(b);
  const w = n.x1 - n.x0;
  const h = n.y1 - n.y0;
  const x0 = Math.min(Math.max(0, n.x0 + dx), Math.max(0, columns - w));
  const y0 = Math.min(Math.max(0, n.y0 + dy), Math.max(0, rows - h));
  return { y0, x0, y1: y0 + h, x1: x0 + w, frames: n.frames };
}

/** Drag one handle to `p` (image units); the opposite side stays put. */
export function resizeBox(b: Box, h: Handle, p: Point, rows: number, columns: number): Box {
  const n = normalize(b);
  const x = Math.min(columns, Math.max(0, p.x));
  const y = Math.min(rows, Math.max(0, p.y));
  const out = { ...n };
  if (h.includes('w')) out.x0 = x;
  if (h.includes('e')) out.x1 = x;
  if (h.startsWith('n')) out.y0 = y;
  if (h.startsWith('s')) out.y1 = y;
  return normalize(out);
}

/**
 * Move the bottom-right corner by (dx, dy) (the keyboard resize): kept inside the image and at
 * least one pixel from the top-left corner, which stays put.
 */
export function growBox(b: Box, dx: number, dy: number, rows: number, columns: number): Box {
  const n = normalize(b);
  const x1 = Math.min(columns, Math.max(n.x0 + 1, n.x1 + dx));
  const y1 = Math.min(rows, Math.max(n.y0 + 1, n.y1 + dy));
  return { ...n, x1, y1 };
}

/** Frames for a box under a scope choice. */
export function scopeFrames(scope: 'current' | 'all', frame: number): number[] {
  return scope === 'all' ? [] : [frame];
}

/** CSS cursor for a handle on screen (ignores rotation; good enough as a hint). */
export function handleCursor(h: Handle): string {
  return h === 'n' || h === 's' ? 'ns-resize' : h === 'e' || h === 'w' ? 'ew-resize' : h === 'ne' || h === 'sw' ? 'nesw-resize' : 'nwse-resize';
}

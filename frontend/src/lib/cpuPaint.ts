/**
 * The CPU renderer's pixel kernel: stored samples → opaque RGBA (as little-endian Uint32 words),
 * through a stored-value → grey lookup table per window. Pure, so it runs unchanged in the
 * windowing worker (`cpuWorker.ts`), on the main thread where workers are missing, and in vitest.
 */

import type { Samples, Window } from './api';
import { applyWindow, buildLut, modalityValue, storedRange, type Range, type WindowMode } from './windowing';
import { blendSegments, type SegmentImage, type SegmentStyle } from './overlays';

/** The segment overlays of a frame: the composed stack and how to blend it. */
export interface SegmentLayer {
  image: SegmentImage;
  style: SegmentStyle;
}

/** What the kernel needs of a frame (a `RawFrame` fits). */
export interface PaintFrame {
  rows: number;
  columns: number;
  samplesPerPixel: number;
  slope: number;
  intercept: number;
  data: Samples;
}

export interface PaintParams {
  window: Window;
  mode: WindowMode;
  /** MONOCHROME1 xor the user's Invert. */
  invert: boolean;
}

export const OVERLAY_RGB = [1.0, 0.85, 0.25] as const;

/** Above this stored span a table would be larger than the frame: window each sample instead. */
const MAX_LUT = 1 << 20;

/** Stored-value range of a grey frame's samples (for the table's offset and length). */
export function paintRange(f: PaintFrame): Range {
  return storedRange(f.data, f.rows * f.columns * f.samplesPerPixel);
}

/**
 * Write the frame, windowed, into `out` (one 0xAABBGGRR word per pixel, the ImageData layout on
 * little-endian machines); overlay pixels (non-zero mask) take the overlay colour. `range` is
 * the frame's stored range (`paintRange`), passed in because it is computed once per frame.
 */
export function paintPixels(
  f: PaintFrame,
  range: Range,
  overlay: Uint8Array | null,
  p: PaintParams,
  out: Uint32Array,
  segments: SegmentLayer | null = null,
): void {
  const n = f.rows * f.columns;
  const px = out;
  const grey = (v: number): number => 0xff000000 | (v << 16) | (v << 8) | v;
  const d = f.data;
  if (f.samplesPerPixel === 3) {
    for (let i = 0, j = 0; i < n; i++, j += 3) {
      let r = d[j];
      let g = d[j + 1];
      let b = d[j + 2];
      if (p.invert) {
        r = 255 - r;
        g = 255 - g;
        b = 255 - b;
      }
      px[i] = 0xff000000 | (b << 16) | (g << 8) | r;
    }
  } else {
    const span = range.max - range.min + 1;
    if (span <= MAX_LUT) {
      const lut8 = buildLut(range.min, span, { window: p.window, mode: p.mode, slope: f.slope, intercept: f.intercept, invert: p.invert });
      const lut = new Uint32Array(span);
      for (let i = 0; i < span; i++) lut[i] = grey(lut8[i]);
      const min = range.min;
      for (let i = 0; i < n; i++) px[i] = lut[d[i] - min];
    } else {
      for (let i = 0; i < n; i++) {
        let y = applyWindow(modalityValue(d[i], f.slope, f.intercept), p.window, p.mode);
        if (p.invert) y = 1 - y;
        px[i] = grey(Math.round(y * 255));
      }
    }
  }
  if (overlay && overlay.length >= n) {
    const c =
      0xff000000 |
      (Math.round(OVERLAY_RGB[2] * 255) << 16) |
      (Math.round(OVERLAY_RGB[1] * 255) << 8) |
      Math.round(OVERLAY_RGB[0] * 255);
    for (let i = 0; i < n; i++) if (overlay[i]) px[i] = c;
  }
  // segments are drawn in image space, so they follow every pan/zoom/flip/rotation of the image
  if (segments && segments.image.rows === f.rows && segments.image.columns === f.columns) blendSegments(px, segments.image, segments.style);
}

// ---- the worker protocol ------------------------------------------------------------------------

/** Main thread → worker. `seq` numbers the frames; a render names the frame it is for. */
export type ToWorker =
  | { type: 'frame'; seq: number; frame: PaintFrame | null }
  | { type: 'overlay'; seq: number; mask: Uint8Array | null }
  | { type: 'segments'; image: SegmentImage | null }
  | { type: 'style'; style: SegmentStyle }
  | { type: 'render'; seq: number; id: number; params: PaintParams };

/** Worker → main thread: the windowed frame as a transferred ImageBitmap. */
export interface FromWorker {
  seq: number;
  id: number;
  bitmap: ImageBitmap;
}

/**
 * Window/level maths, shared by the WebGL shader (which mirrors `linearWindow`) and the CPU
 * fallback (which builds a lookup table with it).
 *
 * Windows apply to modality values (stored × slope + intercept, PS3.3 C.11.1.1.2). The linear
 * function is the DICOM VOI LUT Function LINEAR (PS3.3 C.11.2.1.2.1); "Full Dynamic" maps the
 * frame's true min..max onto black..white. MONOCHROME1 is inverted after windowing (C.7.6.3.1.2).
 */

import type { RawFrame, Samples, Window } from './api';

export type WindowMode = 'linear' | 'exact';

/** DICOM LINEAR window of one modality value, as a display fraction in [0, 1]. */
export function linearWindow(x: number, center: number, width: number): number {
  if (width <= 1) return x <= center - 0.5 ? 0 : 1;
  const lo = center - 0.5 - (width - 1) / 2;
  const hi = center - 0.5 + (width - 1) / 2;
  if (x <= lo) return 0;
  if (x > hi) return 1;
  return (x - (center - 0.5)) / (width - 1) + 0.5;
}

/** LINEAR_EXACT (C.11.2.1.3.2): used for Full Dynamic so min → 0 and max → 1 exactly. */
export function exactWindow(x: number, center: number, width: number): number {
  if (width <= 0) return x < center ? 0 : 1;
  const y = (x - center) / width + 0.5;
  return y < 0 ? 0 : y > 1 ? 1 : y;
}

export function applyWindow(x: number, w: Window, mode: WindowMode): number {
  return mode === 'exact' ? exactWindow(x, w.center, w.width) : linearWindow(x, w.center, w.width);
}

/** Modality value of a stored sample. */
export function modalityValue(stored: number, slope: number, intercept: number): number {
  return stored * slope + intercept;
}

/** The samples of one pixel of a frame, and its modality value when it has one sample. */
export interface Probe {
  row: number;
  column: number;
  stored: number[];
  modality: number | null;
}

/** Read pixel (row, column) of a frame; null outside it. */
export function probePixel(frame: RawFrame, row: number, column: number): Probe | null {
  if (row < 0 || column < 0 || row >= frame.rows || column >= frame.columns) return null;
  const spp = frame.samplesPerPixel;
  const at = (row * frame.columns + column) * spp;
  const stored = Array.from(frame.data.subarray(at, at + spp));
  return { row, column, stored, modality: spp === 1 ? modalityValue(stored[0], frame.slope, frame.intercept) : null };
}

export interface Range {
  min: number;
  max: number;
}

/** Stored min/max over the first `count` samples (all when omitted). */
export function storedRange(data: Samples, count = data.length): Range {
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < count; i++) {
    const v = data[i];
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (min === Infinity) return { min: 0, max: 0 };
  return { min, max };
}

/** Map a stored range to modality units (a negative slope swaps the ends). */
export function modalityRange(r: Range, slope: number, intercept: number): Range {
  const a = modalityValue(r.min, slope, intercept);
  const b = modalityValue(r.max, slope, intercept);
  return { min: Math.min(a, b), max: Math.max(a, b) };
}

/** The Full Dynamic window of a modality range (LINEAR_EXACT centre/width). */
export function fullDynamicWindow(r: Range): Window {
  const width = Math.max(r.max - r.min, 1);
  return { center: r.min + width / 2, width };
}

/**
 * 1st/99th percentile window of the stored samples, in modality units: what the server uses
 * when a file names no window. A histogram over the stored range keeps it linear-time.
 */
export function percentileWindow(data: Samples, count: number, slope: number, intercept: number): Window {
  const r = storedRange(data, count);
  const span = r.max - r.min;
  if (span <= 0) {
    const m = modalityValue(r.min, slope, intercept);
    return { center: m, width: 1 };
  }
  const bins = Math.min(65536, span + 1);
  const scale = (bins - 1) / span;
  const hist = new Uint32Array(bins);
  for (let i = 0; i < count; i++) hist[Math.round((data[i] - r.min) * scale)]++;
  const find = (q: number): number => {
    const target = q * count;
    let acc = 0;
    for (let b = 0; b < bins; b++) {
      acc += hist[b];
      if (acc >= target) return r.min + b / scale;
    }
    return r.max;
  };
  const lo = modalityValue(find(0.01), slope, intercept);
  const hi = modalityValue(find(0.99), slope, intercept);
  const a = Math.min(lo, hi);
  const b = Math.max(lo, hi);
  const width = Math.max(b - a, 1);
  return { center: (a + b) / 2, width };
}

export interface LutParams {
  window: Window;
  mode: WindowMode;
  slope: number;
  intercept: number;
  /** MONOCHROME1 xor the user's Invert. */
  invert: boolean;
}

/**
 * A stored-value → 8-bit grey lookup table for integer samples in [offset, offset + length).
 * Used by the CPU renderer: one table per window change, then one array read per pixel.
 */
export function buildLut(offset: number, length: number, p: LutParams): Uint8Array {
  const lut = new Uint8Array(length);
  for (let i = 0; i < length; i++) {
    let y = applyWindow(modalityValue(i + offset, p.slope, p.intercept), p.window, p.mode);
    if (p.invert) y = 1 - y;
    lut[i] = Math.round(y * 255);
  }
  return lut;
}

/** A window changed by a drag: dx widens, dy raises the centre (screen down = brighter). */
export function dragWindow(w: Window, dx: number, dy: number, perPixel: number): Window {
  return {
    center: w.center + dy * perPixel,
    width: Math.max(1, w.width + dx * perPixel),
  };
}

/** Short display of a window, e.g. `W 400 · C 40`. */
export function formatWindow(w: Window): string {
  const f = (v: number): string => {
    const a = Math.abs(v);
    const digits = a >= 100 ? 0 : a >= 10 ? 1 : 2;
    return String(Number(v.toFixed(digits)));
  };
  return `W ${f(w.width)} · C ${f(w.center)}`;
}

/** What the window presets select chose: a named entry, the file's n-th window, or a drag. */
export type WindowChoice = 'default' | 'full' | 'manual' | `preset:${string}` | `file:${number}`;

export interface WindowSources {
  manual: Window;
  /** The server's named presets (`/api/presets`). */
  presets: readonly { name: string; center: number; width: number }[];
  /** The file's own windows (`/info` `window_presets`). */
  filePresets: readonly { center: number; width: number }[];
  /** The window shown for "Default" (the file's, else a percentile window). */
  defaultWindow: Window;
  /** The frame's modality range for Full Dynamic; null for colour frames or before one loaded. */
  fullRange: Range | null;
}

/** The window (and its function) a choice gives; unknown choices fall back to Default. */
export function effectiveWindow(choice: WindowChoice, s: WindowSources): { win: Window; mode: WindowMode } {
  if (choice === 'full' && s.fullRange) return { win: fullDynamicWindow(s.fullRange), mode: 'exact' };
  if (choice === 'manual') return { win: s.manual, mode: 'linear' };
  if (choice.startsWith('preset:')) {
    const p = s.presets.find((x) => `preset:${x.name}` === choice);
    if (p) return { win: { center: p.center, width: p.width }, mode: 'linear' };
  }
  if (choice.startsWith('file:')) {
    const p = s.filePresets[Number(choice.slice(5))];
    if (p) return { win: { center: p.center, width: p.width }, mode: 'linear' };
  }
  return { win: s.defaultWindow, mode: 'linear' };
}

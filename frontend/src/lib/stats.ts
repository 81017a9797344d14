/**
 * Region statistics as the probe shows them (docs/viewer-ux.md):
 * `mean 41.3 HU · SD 12.9 · min −3 · max 88 · 588 mm²`, and the pixel box a region asks for.
 */

import type { RegionBox, RegionStats } from './api';

const MINUS = '\u2212';

/** A number for reading: integers as they are, others to one decimal (large ones to none); a true minus sign. */
export function formatValue(v: number): string {
  const r = Math.abs(v) >= 1000 ? Math.round(v) : Math.round(v * 10) / 10;
  const t = Number.isInteger(r) ? String(r) : r.toFixed(1);
  return t.replace(/^-/, MINUS);
}

/** The probe's statistics line; the unit (HU, …) follows the mean; area in mm², else pixels. */
export function formatStats(s: RegionStats): string {
  if (s.n === 0 || s.mean === null) return 'no pixels in the region';
  const unit = s.unit ? ` ${s.unit}` : '';
  const area = s.area_mm2 !== null ? `${formatValue(Math.round(s.area_mm2 * 10) / 10)} mm²` : `${s.area_px} px`;
  return [
    `mean ${formatValue(s.mean)}${unit}`,
    `SD ${formatValue(s.sd ?? 0)}`,
    `min ${formatValue(s.min ?? 0)}`,
    `max ${formatValue(s.max ?? 0)}`,
    area,
  ].join(' · ');
}

/** An on-screen box (image coordinates, any corner order) as the whole-pixel box the stats route takes. */
export function regionBox(b: { x0: number; y0: number; x1: number; y1: number }): RegionBox | null {
  const y0 = Math.round(Math.min(b.y0, b.y1));
  const y1 = Math.round(Math.max(b.y0, b.y1));
  const x0 = Math.round(Math.min(b.x0, b.x1));
  const x1 = Math.round(Math.max(b.x0, b.x1));
  return y1 > y0 && x1 > x0 ? { y0, x0, y1, x1 } : null;
}

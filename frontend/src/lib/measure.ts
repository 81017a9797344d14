/**
 * Length and angle measurements (issue 15 §3, docs/api.md "Measurements"): the values and labels
 * the viewer shows while a measurement is drawn, with the server's rule (the server's value is
 * canonical once saved). Points are image coordinates `[x, y]` = (column, row) in pixel units, so
 * rotate/flip/zoom never change a value; spacing is `[row, column]` mm as PixelSpacing.
 */

import type { Point } from './viewport';

export type MeasureKind = 'length' | 'angle';
export type MeasureUnit = 'mm' | 'px' | 'deg';

export interface Measurement {
  kind: MeasureKind;
  frame: number;
  points: [number, number][];
  value: number;
  unit: MeasureUnit;
  at_detector: boolean;
  label: string | null;
}

const usable = (s: readonly number[] | null | undefined): s is readonly number[] =>
  !!s && s.length >= 2 && s[0] > 0 && s[1] > 0 && Number.isFinite(s[0]) && Number.isFinite(s[1]);

/** Length of a–b: mm from the spacing (non-square pixels: each axis its own), else px. */
export function lengthOf(a: Point, b: Point, spacing: readonly number[] | null | undefined): { value: number; unit: MeasureUnit } {
  const [sr, sc] = usable(spacing) ? spacing : [1, 1];
  return { value: Math.hypot((b.x - a.x) * sc, (b.y - a.y) * sr), unit: usable(spacing) ? 'mm' : 'px' };
}

/** The angle at `v` between v→a and v→b, degrees in [0, 180], in physical space when spaced. */
export function angleOf(a: Point, v: Point, b: Point, spacing: readonly number[] | null | undefined): number {
  const [sr, sc] = usable(spacing) ? spacing : [1, 1];
  const ux = (a.x - v.x) * sc;
  const uy = (a.y - v.y) * sr;
  const wx = (b.x - v.x) * sc;
  const wy = (b.y - v.y) * sr;
  const n = Math.hypot(ux, uy) * Math.hypot(wx, wy);
  if (n === 0) return 0;
  return (Math.acos(Math.max(-1, Math.min(1, (ux * wx + uy * wy) / n))) * 180) / Math.PI;
}

/** The value of a measurement's points (a length: 2 points; an angle: 3, vertex in the middle). */
export function valueOf(kind: MeasureKind, points: readonly Point[], spacing: readonly number[] | null | undefined): { value: number; unit: MeasureUnit } {
  if (kind === 'angle') return { value: angleOf(points[0], points[1], points[2] ?? points[1], spacing), unit: 'deg' };
  return lengthOf(points[0], points[1] ?? points[0], spacing);
}

/** The label rule of docs/viewer-ux.md: `23.4 mm`, `23.4 mm at detector`, `123 px`, `37.5°`. */
export function formatMeasurement(value: number, unit: MeasureUnit, atDetector = false): string {
  if (unit === 'deg') return `${value.toFixed(1)}°`;
  if (unit === 'px') return `${Math.round(value)} px`;
  return `${value.toFixed(1)} mm${atDetector ? ' at detector' : ''}`;
}

/** Keep a point inside the image `[0, columns] × [0, rows]` (the server refuses points outside). */
export function clampPoint(p: Point, columns: number, rows: number): Point {
  return { x: Math.max(0, Math.min(columns, p.x)), y: Math.max(0, Math.min(rows, p.y)) };
}

/** The handle (measurement index, point index) within `tolerance` of `p` on `frame`, nearest first, or null. */
export function handleAt(list: readonly Measurement[], frame: number, p: Point, tolerance: number): { index: number; point: number } | null {
  let best: { index: number; point: number } | null = null;
  let bestD = tolerance;
  list.forEach((m, index) => {
    if (m.frame !== frame) return;
    m.points.forEach(([x, y], point) => {
      const d = Math.hypot(x - p.x, y - p.y);
      if (d <= bestD) {
        bestD = d;
        best = { index, point };
      }
    });
  });
  return best;
}

/** A measurement's points as the API sends them. */
export const toPairs = (ps: readonly Point[]): [number, number][] => ps.map((q) => [q.x, q.y]);
export const toPoints = (m: Measurement): Point[] => m.points.map(([x, y]) => ({ x, y }));

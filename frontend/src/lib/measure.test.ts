import { describe, expect, it } from 'vitest';
import { angleOf, clampPoint, formatMeasurement, handleAt, lengthOf, valueOf, type Measurement } from './measure';

describe('measurements', () => {
  it('measures lengths in mm with each axis its own spacing, else px', () => {
    expect(lengthOf({ x: 0, y: 0 }, { x: 30, y: 40 }, null)).toEqual({ value: 50, unit: 'px' });
    // PixelSpacing [row, column] = [0.5, 0.25]: 40 columns = 10 mm, 30 rows = 15 mm
    const l = lengthOf({ x: 0, y: 0 }, { x: 40, y: 30 }, [0.5, 0.25]);
    expect(l.unit).toBe('mm');
    expect(l.value).toBeCloseTo(Math.hypot(10, 15));
  });
  it('measures angles at the middle point, in physical space', () => {
    expect(angleOf({ x: 10, y: 0 }, { x: 0, y: 0 }, { x: 0, y: 10 }, null)).toBeCloseTo(90);
    expect(angleOf({ x: 10, y: 0 }, { x: 0, y: 0 }, { x: 10, y: 10 }, null)).toBeCloseTo(45);
    // rows twice as tall as columns are wide: the 45° of the pixel grid is atan(2) physically
    expect(angleOf({ x: 10, y: 0 }, { x: 0, y: 0 }, { x: 10, y: 10 }, [2, 1])).toBeCloseTo((Math.atan(2) * 180) / Math.PI);
    expect(valueOf('angle', [{ x: 1, y: 0 }, { x: 0, y: 0 }, { x: -1, y: 0 }], null)).toEqual({ value: 180, unit: 'deg' });
  });
  it('labels as viewer-ux.md says', () => {
    expect(formatMeasurement(23.44, 'mm')).toBe('23.4 mm');
    expect(formatMeasurement(23.44, 'mm', true)).toBe('23.4 mm at detector');
    expect(formatMeasurement(122.6, 'px')).toBe('123 px');
    expect(formatMeasurement(37.54, 'deg')).toBe('37.5°');
  });
  it('clamps to the image and finds the nearest handle on the frame', () => {
    expect(clampPoint({ x: -3, y: 70 }, 64, 48)).toEqual({ x: 0, y: 48 });
    const m = (frame: number, points: [number, number][]): Measurement => ({ kind: 'length', frame, points, value: 0, unit: 'px', at_detector: false, label: null });
    const list = [m(0, [[0, 0], [10, 0]]), m(1, [[10, 1], [20, 0]]), m(0, [[11, 0], [30, 0]])];
    expect(handleAt(list, 0, { x: 10.6, y: 0 }, 2)).toEqual({ index: 2, point: 0 });
    expect(handleAt(list, 0, { x: 10.4, y: 0 }, 2)).toEqual({ index: 0, point: 1 });
    expect(handleAt(list, 0, { x: 50, y: 0 }, 2)).toBeNull();
  });
});

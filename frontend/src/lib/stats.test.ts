import { describe, expect, it } from 'vitest';
import type { RegionStats } from './api';
import { formatStats, formatValue, regionBox } from './stats';

const base: RegionStats = { shape: 'rect', n: 1200, mean: 41.3, sd: 12.9, min: -3, max: 88, sum: 49560, unit: null, area_px: 1200, area_mm2: 588, spacing_source: 'PixelSpacing' };

describe('region statistics text', () => {
  it('reads as docs/viewer-ux.md writes it', () => {
    expect(formatStats(base)).toBe('mean 41.3 · SD 12.9 · min \u22123 · max 88 · 588 mm²');
  });
  it('the unit follows the mean; without a spacing the area is in pixels', () => {
    expect(formatStats({ ...base, unit: 'HU', area_mm2: null })).toBe('mean 41.3 HU · SD 12.9 · min \u22123 · max 88 · 1200 px');
  });
  it('numbers: integers stay, others one decimal, true minus sign', () => {
    expect(formatValue(-3)).toBe('\u22123');
    expect(formatValue(41.2999)).toBe('41.3');
    expect(formatValue(-0.26)).toBe('\u22120.3');
    expect(formatValue(1000.0000001)).toBe('1000');
    expect(formatValue(41.04)).toBe('41');
    expect(formatValue(12345.6)).toBe('12346');
    expect(formatStats({ ...base, area_mm2: 12.345 })).toContain('12.3 mm²');
  });
  it('an empty region says so', () => {
    expect(formatStats({ ...base, n: 0, mean: null })).toBe('no pixels in the region');
  });
});

describe('region box', () => {
  it('whole pixels, corners in order, empty boxes refused', () => {
    expect(regionBox({ x0: 10.4, y0: 20.6, x1: 2, y1: 5 })).toEqual({ y0: 5, x0: 2, y1: 21, x1: 10 });
    expect(regionBox({ x0: 3, y0: 3, x1: 3.2, y1: 9 })).toBeNull();
  });
});

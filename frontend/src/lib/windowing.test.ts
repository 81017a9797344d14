import { describe, expect, it } from 'vitest';
import {
  buildLut,
  probePixel,
  effectiveWindow,
  dragWindow,
  exactWindow,
  formatWindow,
  fullDynamicWindow,
  linearWindow,
  modalityRange,
  percentileWindow,
  storedRange,
} from './windowing';

describe('linearWindow (PS3.3 C.11.2.1.2.1)', () => {
  it('clips below and above the window', () => {
    // c=40, w=400: lo = 40 - 0.5 - 199.5 = -160, hi = 239
    expect(linearWindow(-160, 40, 400)).toBe(0);
    expect(linearWindow(-1000, 40, 400)).toBe(0);
    expect(linearWindow(239.5, 40, 400)).toBe(1);
  });
  it('is linear inside', () => {
    expect(linearWindow(39.5, 40, 400)).toBeCloseTo(0.5, 10);
    expect(linearWindow(139.25, 40, 400)).toBeCloseTo(0.75, 10);
  });
  it('treats width 1 as a threshold', () => {
    expect(linearWindow(9, 10, 1)).toBe(0);
    expect(linearWindow(10, 10, 1)).toBe(1);
  });
});

describe('exactWindow and full dynamic', () => {
  it('maps min to 0 and max to 1', () => {
    const w = fullDynamicWindow({ min: -1024, max: 3071 });
    expect(exactWindow(-1024, w.center, w.width)).toBe(0);
    expect(exactWindow(3071, w.center, w.width)).toBe(1);
    expect(exactWindow(1023.5, w.center, w.width)).toBeCloseTo(0.5, 10);
  });
  it('keeps a flat frame valid', () => {
    expect(fullDynamicWindow({ min: 5, max: 5 }).width).toBe(1);
  });
});

describe('ranges', () => {
  it('finds stored min/max and maps through a negative slope', () => {
    const r = storedRange(new Int16Array([3, -7, 12, 0]));
    expect(r).toEqual({ min: -7, max: 12 });
    expect(modalityRange(r, -2, 10)).toEqual({ min: -14, max: 24 });
  });
});

describe('percentileWindow', () => {
  it('ignores the extreme 1% on each side', () => {
    const data = new Uint16Array(1000);
    for (let i = 0; i < 1000; i++) data[i] = i < 5 ? 0 : i >= 995 ? 60000 : 1000 + (i % 100);
    const w = percentileWindow(data, data.length, 1, -1024);
    expect(w.center - w.width / 2).toBeGreaterThanOrEqual(-30);
    expect(w.center + w.width / 2).toBeLessThanOrEqual(100);
  });
});

describe('buildLut', () => {
  it('windows rescaled values and inverts', () => {
    const lut = buildLut(0, 4096, {
      window: { center: 40, width: 400 },
      mode: 'linear',
      slope: 1,
      intercept: -1024,
      invert: false,
    });
    expect(lut[0]).toBe(0); // -1024 HU
    expect(lut[1024 + 40]).toBe(128); // 40 HU ≈ mid grey
    expect(lut[4095]).toBe(255);
    const inv = buildLut(0, 2, {
      window: { center: 0.5, width: 1 },
      mode: 'exact',
      slope: 1,
      intercept: 0,
      invert: true,
    });
    expect([...inv]).toEqual([255, 0]);
  });
});

describe('dragWindow and formatWindow', () => {
  it('never makes the width smaller than 1', () => {
    expect(dragWindow({ center: 10, width: 5 }, -100, 2, 1)).toEqual({ center: 12, width: 1 });
  });
  it('formats compactly', () => {
    expect(formatWindow({ center: 40, width: 400 })).toBe('W 400 · C 40');
    expect(formatWindow({ center: 0.5, width: 1.25 })).toBe('W 1.25 · C 0.5');
  });
});

describe('effectiveWindow', () => {
  const s = {
    manual: { center: 5, width: 10 },
    presets: [{ name: 'CT Lung', center: -600, width: 1500 }],
    filePresets: [{ center: 40, width: 400 }, { center: 80, width: 200 }],
    defaultWindow: { center: 1, width: 2 },
    fullRange: { min: -1024, max: 2976 },
  };
  it('gives each choice its window and function', () => {
    expect(effectiveWindow('default', s)).toEqual({ win: { center: 1, width: 2 }, mode: 'linear' });
    expect(effectiveWindow('manual', s)).toEqual({ win: { center: 5, width: 10 }, mode: 'linear' });
    expect(effectiveWindow('preset:CT Lung', s)).toEqual({ win: { center: -600, width: 1500 }, mode: 'linear' });
    expect(effectiveWindow('file:1', s)).toEqual({ win: { center: 80, width: 200 }, mode: 'linear' });
    expect(effectiveWindow('full', s)).toEqual({ win: { center: 976, width: 4000 }, mode: 'exact' });
  });
  it('falls back to Default for unknown presets and colour frames', () => {
    expect(effectiveWindow('preset:Nope', s).win).toEqual(s.defaultWindow);
    expect(effectiveWindow('file:7', s).win).toEqual(s.defaultWindow);
    expect(effectiveWindow('full', { ...s, fullRange: null }).win).toEqual(s.defaultWindow);
  });
});

describe('probePixel', () => {
  const frame = (data: Int16Array | Uint8Array, spp: number) => ({
    rows: 2,
    columns: 3,
    bitsAllocated: data.BYTES_PER_ELEMENT * 8,
    signed: data instanceof Int16Array,
    samplesPerPixel: spp,
    photometric: spp === 1 ? 'MONOCHROME2' : 'RGB',
    slope: 2,
    intercept: -1024,
    defaultWindow: null,
    data,
  });
  it('reads the stored sample row-major and maps it to modality units', () => {
    const f = frame(Int16Array.from([0, 1, 2, 3, 4, -5]), 1);
    expect(probePixel(f, 1, 2)).toEqual({ row: 1, column: 2, stored: [-5], modality: -1034 });
    expect(probePixel(f, 0, 1)).toEqual({ row: 0, column: 1, stored: [1], modality: -1022 });
  });
  it('gives every sample of a colour pixel and no modality value', () => {
    const f = frame(Uint8Array.from({ length: 18 }, (_, i) => i), 3);
    expect(probePixel(f, 1, 0)).toEqual({ row: 1, column: 0, stored: [9, 10, 11], modality: null });
  });
  it('is null outside the frame', () => {
    const f = frame(Int16Array.from([0, 1, 2, 3, 4, 5]), 1);
    for (const [r, c] of [[-1, 0], [0, -1], [2, 0], [0, 3]]) expect(probePixel(f, r, c)).toBeNull();
  });
});

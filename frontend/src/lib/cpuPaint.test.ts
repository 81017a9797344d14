import { describe, expect, it } from 'vitest';
import { paintPixels, paintRange, type PaintFrame } from './cpuPaint';
import { applyWindow, buildLut, modalityValue } from './windowing';

const grey = (v: number): number => (0xff000000 | (v << 16) | (v << 8) | v) >>> 0;

function frame(data: PaintFrame['data'], rows: number, columns: number, extra: Partial<PaintFrame> = {}): PaintFrame {
  return { rows, columns, samplesPerPixel: 1, slope: 1, intercept: 0, data, ...extra };
}

describe('paintPixels', () => {
  it('equals the lookup-table maths for signed rescaled samples', () => {
    const data = new Int16Array([-1024, -200, 0, 40, 240, 3000]);
    const f = frame(data, 2, 3, { slope: 1, intercept: -1024 });
    const out = new Uint32Array(6);
    const params = { window: { center: 40, width: 400 }, mode: 'linear' as const, invert: false };
    const range = paintRange(f);
    expect(range).toEqual({ min: -1024, max: 3000 });
    paintPixels(f, range, null, params, out);
    const lut = buildLut(range.min, range.max - range.min + 1, { ...params, slope: 1, intercept: -1024 });
    expect(Array.from(out)).toEqual(Array.from(data, (v) => grey(lut[v - range.min])));
    // and the windowing function itself, sample by sample
    for (let i = 0; i < data.length; i++) {
      const y = Math.round(applyWindow(modalityValue(data[i], 1, -1024), params.window, 'linear') * 255);
      expect(out[i]).toBe(grey(y));
    }
  });

  it('inverts, draws overlays, and windows huge spans without a table', () => {
    const data = new Uint32Array([0, 1 << 24, 1 << 23]);
    const f = frame(data, 1, 3);
    const out = new Uint32Array(3);
    const params = { window: { center: 1 << 23, width: 1 << 24 }, mode: 'exact' as const, invert: true };
    paintPixels(f, paintRange(f), new Uint8Array([0, 0, 1]), params, out);
    expect(out[0]).toBe(grey(255));
    expect(out[1]).toBe(grey(0));
    expect(out[2]).toBe((0xff000000 | (64 << 16) | (217 << 8) | 255) >>> 0);
  });

  it('passes colour through (inverted on request)', () => {
    const f: PaintFrame = { rows: 1, columns: 2, samplesPerPixel: 3, slope: 1, intercept: 0, data: new Uint8Array([255, 0, 0, 10, 20, 30]) };
    const out = new Uint32Array(2);
    paintPixels(f, { min: 0, max: 0 }, null, { window: { center: 0, width: 1 }, mode: 'linear', invert: false }, out);
    expect(out[0]).toBe(0xff0000ff);
    expect(out[1]).toBe((0xff000000 | (30 << 16) | (20 << 8) | 10) >>> 0);
    paintPixels(f, { min: 0, max: 0 }, null, { window: { center: 0, width: 1 }, mode: 'linear', invert: true }, out);
    expect(out[0]).toBe(0xffffff00);
  });
});

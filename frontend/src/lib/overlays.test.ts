import { describe, expect, it } from 'vitest';
import { paintPixels } from './cpuPaint';
import {
  blendSegments,
  buildSegmentLut,
  covers,
  framePixels,
  labelCount,
  labelOffsets,
  mergeLabels,
  outlineMask,
  reformatLabels,
  segmentsAt,
  type OverlayInfo,
  type OverlaySettings,
} from './overlays';

const seg = (number: number, label: string, color: [number, number, number]) => ({ number, label, color });
const A: OverlayInfo = {
  id: 'o1',
  kind: 'segmentation',
  label: 'A',
  source: '/a.dcm',
  segments: [seg(1, 'Liver', [255, 0, 0]), seg(3, 'Tumour', [0, 255, 0])],
  targets: [{ file: 0, frames: [0, 2] }],
};
const B: OverlayInfo = { id: 'o2', kind: 'mask', label: 'B', source: '/b.npy', segments: [seg(1, 'Pred', [0, 0, 255])], targets: [{ file: 0, frames: [0] }] };
const settings = (over: Partial<OverlaySettings> = {}): OverlaySettings => ({
  all: true,
  hiddenOverlays: new Set(),
  hiddenSegments: new Set(),
  opacity: 1,
  outline: false,
  ...over,
});

describe('segment table', () => {
  it('gives each overlay a block of global indices after the previous one', () => {
    expect(labelOffsets([A, B])).toEqual([0, 3]);
    expect(labelCount([A, B])).toBe(5);
    expect(labelCount([])).toBe(1);
  });

  it('holds colours and alpha = opacity for shown segments, 0 for hidden ones', () => {
    const lut = buildSegmentLut([A, B], settings({ opacity: 0.5 }));
    expect(Array.from(lut.subarray(4, 8))).toEqual([255, 0, 0, 128]);
    expect(Array.from(lut.subarray(12, 16))).toEqual([0, 255, 0, 128]);
    expect(Array.from(lut.subarray(16, 20))).toEqual([0, 0, 255, 128]);
    expect(lut[2 * 4 + 3]).toBe(0); // segment 2 does not exist
    const hidden = buildSegmentLut([A, B], settings({ hiddenSegments: new Set(['o1:3']), hiddenOverlays: new Set(['o2']) }));
    expect([hidden[7], hidden[15], hidden[19]]).toEqual([255, 0, 0]);
    const off = buildSegmentLut([A, B], settings({ all: false }));
    expect([off[7], off[15], off[19]]).toEqual([0, 0, 0]);
  });
});

describe('merged labels', () => {
  it('offsets each overlay and lets the later one win', () => {
    const a = { rows: 1, columns: 4, data: new Uint8Array([0, 1, 3, 1]) };
    const b = { rows: 1, columns: 4, data: new Uint8Array([1, 0, 0, 1]) };
    expect(Array.from(mergeLabels([a, b], [0, 3], 1, 4).data)).toEqual([4, 1, 3, 4]);
    expect(Array.from(mergeLabels([null, b], [0, 3], 1, 4).data)).toEqual([4, 0, 0, 4]);
    // a map of another size is not drawn
    expect(Array.from(mergeLabels([{ rows: 2, columns: 2, data: new Uint8Array(4).fill(1) }], [0], 1, 4).data)).toEqual([0, 0, 0, 0]);
  });

  it('outlines a filled square by its border pixels only', () => {
    const rows = 6;
    const columns = 6;
    const data = new Uint16Array(rows * columns);
    for (let y = 1; y <= 4; y++) for (let x = 1; x <= 4; x++) data[y * columns + x] = 2;
    const o = outlineMask({ rows, columns, data });
    const inside = (y: number, x: number): number => o[y * columns + x];
    expect(inside(1, 1) + inside(1, 4) + inside(4, 2)).toBe(3);
    expect(inside(2, 2) + inside(3, 3) + inside(0, 0)).toBe(0);
    expect(o.reduce((s, v) => s + v, 0)).toBe(12);
    // a region touching the image edge is outlined there too
    expect(Array.from(outlineMask({ rows: 1, columns: 3, data: new Uint16Array([1, 1, 1]) }))).toEqual([1, 1, 1]);
  });
});

describe('blending', () => {
  const grey = 0xff000000 | (100 << 16) | (100 << 8) | 100;
  it('mixes table colours by alpha in the 0xAABBGGRR layout', () => {
    const px = new Uint32Array([grey, grey, grey]);
    const labels = { rows: 1, columns: 3, data: new Uint16Array([0, 1, 4]) };
    blendSegments(px, labels, { lut: buildSegmentLut([A, B], settings({ opacity: 0.5 })), outline: false });
    expect(px[0]).toBe(grey >>> 0);
    expect(px[1] & 0xff).toBe(Math.round(100 + (155 * 128) / 255)); // red channel towards 255
    expect((px[1] >> 8) & 0xff).toBe(Math.round(100 - (100 * 128) / 255));
    expect((px[2] >> 16) & 0xff).toBe(Math.round(100 + (155 * 128) / 255)); // blue
  });

  it('draws only outline pixels in outline mode, and the CPU kernel applies it after windowing', () => {
    const frame = { rows: 3, columns: 3, samplesPerPixel: 1, slope: 1, intercept: 0, data: new Uint16Array(9) };
    const labels = { rows: 3, columns: 3, data: new Uint16Array(9).fill(1) };
    labels.data[4] = 1;
    const out = new Uint32Array(9);
    const style = { lut: buildSegmentLut([A], settings()), outline: true };
    const params = { window: { center: 1000, width: 10 }, mode: 'linear' as const, invert: false };
    paintPixels(frame, { min: 0, max: 0 }, null, params, out, { labels, outline: null, style });
    expect(out[0]).toBe((0xff000000 | 255) >>> 0); // edge pixel: opaque red
    expect(out[4]).toBe(0xff000000 >>> 0); // the centre is inside: black image
  });
});

describe('probe and counts', () => {
  it('names the segment of each overlay under a pixel', () => {
    const maps = [
      { rows: 1, columns: 2, data: new Uint8Array([3, 0]) },
      { rows: 1, columns: 2, data: new Uint8Array([1, 0]) },
    ];
    expect(segmentsAt([A, B], maps, 0, 0).map((s) => s.segment.label)).toEqual(['Tumour', 'Pred']);
    expect(segmentsAt([A, B], maps, 0, 1)).toEqual([]);
    expect(segmentsAt([A, B], [null, maps[1]], 0, 0).map((s) => s.overlay.id)).toEqual(['o2']);
    expect(segmentsAt([A], maps, 5, 0)).toEqual([]);
  });

  it('finds coverage and per-frame pixel counts', () => {
    expect(covers(A, 0, 2)).toBe(true);
    expect(covers(A, 0, 1)).toBe(false);
    const c = { number: 1, pixels: 30, area_mm2: 7.5, volume_ml: null, frames: [[0, 0, 10] as [number, number, number], [0, 2, 20] as [number, number, number]] };
    expect(framePixels(c, 0, 2)).toBe(20);
    expect(framePixels(c, 0, 1)).toBe(0);
  });
});

describe('reformat planes', () => {
  it('lay slice r on image row r: axis 1 a row of each slice, axis 2 a column', () => {
    // 2 slices of 2 rows × 3 columns; value = 100·slice + 10·row + column + 1
    const slice = (k: number) => ({ rows: 2, columns: 3, data: Uint8Array.from([0, 1, 2, 10, 11, 12].map((v) => v + 100 * k + 1)) });
    const row1 = reformatLabels([slice(0), slice(1)], 2, 3, 1, 1);
    expect([row1.rows, row1.columns]).toEqual([2, 3]);
    expect(Array.from(row1.data)).toEqual([11, 12, 13, 111, 112, 113]);
    const col2 = reformatLabels([slice(0), null, slice(1)], 2, 3, 2, 2);
    expect([col2.rows, col2.columns]).toEqual([3, 2]);
    expect(Array.from(col2.data)).toEqual([3, 13, 0, 0, 103, 113]);
  });
});

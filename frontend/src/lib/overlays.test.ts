import { describe, expect, it } from 'vitest';
import { paintPixels } from './cpuPaint';
import {
  blendSegments,
  composeSegments,
  covers,
  framePixels,
  overlayRoutes,
  overlaySources,
  reformatLabels,
  segmentsAt,
  shownSegments,
  type OverlayInfo,
  type OverlaySettings,
  type SegmentSource,
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
const F: OverlayInfo = {
  id: 'o3',
  kind: 'segmentation',
  label: 'F',
  source: '/f.dcm',
  fractional: true,
  segments: [seg(1, 'P1', [255, 0, 0]), seg(2, 'P2', [0, 0, 255])],
  targets: [{ file: 0, frames: [0] }],
};
const settings = (over: Partial<OverlaySettings> = {}): OverlaySettings => ({
  all: true,
  hiddenOverlays: new Set(),
  hiddenSegments: new Set(),
  opacity: 1,
  outline: false,
  ...over,
});
const row = (values: number[]) => ({ rows: 1, columns: values.length, data: Uint8Array.from(values) });
/** RGBA of pixel i. */
const rgba = (d: Uint8Array, i: number): number[] => Array.from(d.subarray(i * 4, i * 4 + 4));

describe('what to fetch', () => {
  it('lists the shown segments: none when the overlay or all overlays are off', () => {
    expect(shownSegments(A, settings()).map((s) => s.number)).toEqual([1, 3]);
    expect(shownSegments(A, settings({ hiddenSegments: new Set(['o1:3', 'o2:1']) })).map((s) => s.number)).toEqual([1]);
    expect(shownSegments(A, settings({ hiddenOverlays: new Set(['o1']) }))).toEqual([]);
    expect(shownSegments(A, settings({ all: false }))).toEqual([]);
  });

  it('keeps one labels request unless a hidden segment may hide a lower one', () => {
    const all = A.segments;
    const one = [A.segments[0]];
    expect(overlayRoutes(A, all, undefined)).toEqual(['labels']);
    expect(overlayRoutes(A, one, undefined)).toEqual(['labels?segments=1']);
    expect(overlayRoutes(A, one, { ...row([1, 3]), overlap: true })).toEqual(['labels?segments=1']);
    expect(overlayRoutes(A, one, { ...row([1, 3]), overlap: false })).toEqual(['labels']);
    expect(overlayRoutes(A, [], undefined)).toEqual([]);
    // fractional: each shown segment's graded mask
    expect(overlayRoutes(F, F.segments, { ...row([1]), overlap: false })).toEqual(['segment/1', 'segment/2']);
    expect(overlayRoutes(F, [F.segments[1]], undefined)).toEqual(['segment/2']);
  });

  it('turns the maps of those routes into layers (missing maps are skipped)', () => {
    const [l] = overlaySources(A, [A.segments[0]], [row([1, 3])]);
    expect(l.kind).toBe('labels');
    expect(l.kind === 'labels' && [...l.colours.keys()]).toEqual([1]);
    const masks = overlaySources(F, F.segments, [null, row([0, 9])]);
    expect(masks.map((m) => m.kind === 'mask' && m.number)).toEqual([2]);
    expect(overlaySources(A, [], [row([1])])).toEqual([]);
  });
});

describe('composing the stack', () => {
  it('draws each shown label, a hidden one not at all (a subset map shows the lower one)', () => {
    const shown = new Map([[1, [255, 0, 0] as const]]);
    const img = composeSegments([{ kind: 'labels', map: row([0, 1, 3]), colours: shown }], 1, 3, false);
    expect(rgba(img.data, 0)).toEqual([0, 0, 0, 0]);
    expect(rgba(img.data, 1)).toEqual([255, 0, 0, 255]);
    expect(rgba(img.data, 2)).toEqual([0, 0, 0, 0]); // segment 3 hidden
  });

  it('grades a fractional mask by its value and stacks a later layer over an earlier one', () => {
    const red: SegmentSource = { kind: 'mask', map: row([255, 51, 0, 128]), number: 1, colour: [255, 0, 0] };
    const blue: SegmentSource = { kind: 'mask', map: row([0, 0, 102, 255]), number: 2, colour: [0, 0, 255] };
    const img = composeSegments([red, blue], 1, 4, false);
    expect(rgba(img.data, 0)).toEqual([255, 0, 0, 255]);
    expect(rgba(img.data, 1)).toEqual([255, 0, 0, 51]); // 20 %
    expect(rgba(img.data, 2)).toEqual([0, 0, 255, 102]); // 40 %
    expect(rgba(img.data, 3)).toEqual([0, 0, 255, 255]); // blue at 100 % covers red
    // 50 % red under 50 % blue: coverage 1 − ½·½ = 75 %, colour ⅓ red ⅔ blue (premultiplied ½·½ and ½)
    const half = composeSegments(
      [
        { kind: 'mask', map: row([128]), number: 1, colour: [255, 0, 0] },
        { kind: 'mask', map: row([128]), number: 2, colour: [0, 0, 255] },
      ],
      1,
      1,
      false,
    );
    const a = 128 / 255;
    const cover = a + (1 - a) * a;
    expect(rgba(half.data, 0)).toEqual([Math.round(((1 - a) * a * 255) / cover), 0, Math.round((a * 255) / cover), Math.round(cover * 255)]);
  });

  it('outlines label regions and masks at 50 % by their border pixels only', () => {
    const rows = 6;
    const columns = 6;
    const square = new Uint8Array(rows * columns);
    for (let y = 1; y <= 4; y++) for (let x = 1; x <= 4; x++) square[y * columns + x] = 2;
    const drawn = (src: SegmentSource): number[] => {
      const img = composeSegments([src], rows, columns, true);
      const out: number[] = [];
      for (let i = 0; i < rows * columns; i++) if (img.data[i * 4 + 3]) out.push(i);
      return out;
    };
    const labels = drawn({ kind: 'labels', map: { rows, columns, data: square }, colours: new Map([[2, [0, 255, 0] as const]]) });
    expect(labels.length).toBe(12);
    expect(labels).toContain(1 * columns + 1);
    expect(labels).not.toContain(2 * columns + 2);
    const graded = square.map((v) => (v ? 200 : 100)); // 100 (< 50 %) around a 200 square
    expect(drawn({ kind: 'mask', map: { rows, columns, data: graded }, number: 1, colour: [0, 255, 0] })).toEqual(labels);
    // a region touching the image edge is outlined there too
    const edge = composeSegments([{ kind: 'labels', map: row([1, 1, 1]), colours: new Map([[1, [1, 2, 3] as const]]) }], 1, 3, true);
    expect([0, 1, 2].map((i) => edge.data[i * 4 + 3])).toEqual([255, 255, 255]);
  });

  it('gives label maps alone (one pass) what the general stack gives', () => {
    const colours = new Map([
      [1, [255, 0, 0] as const],
      [2, [0, 0, 255] as const],
    ]);
    const a: SegmentSource = { kind: 'labels', map: { rows: 3, columns: 3, data: Uint8Array.from([1, 1, 0, 1, 2, 2, 0, 2, 2]) }, colours };
    const b: SegmentSource = { kind: 'labels', map: { rows: 3, columns: 3, data: Uint8Array.from([0, 0, 0, 0, 1, 0, 0, 0, 0]) }, colours };
    // a fully covering mask layer forces the general path; it is drawn under the labels
    const under: SegmentSource = { kind: 'mask', map: { rows: 3, columns: 3, data: new Uint8Array(9) }, number: 9, colour: [0, 0, 0] };
    for (const outline of [false, true]) {
      const fast = composeSegments([a, b], 3, 3, outline);
      const general = composeSegments([under, a, b], 3, 3, outline);
      expect(Array.from(fast.data)).toEqual(Array.from(general.data));
    }
    expect(rgba(composeSegments([a, b], 3, 3, false).data, 4)).toEqual([255, 0, 0, 255]); // b's 1 over a's 2
  });

  it('skips a layer of another size', () => {
    const img = composeSegments([{ kind: 'labels', map: { rows: 2, columns: 2, data: new Uint8Array(4).fill(1) }, colours: new Map([[1, [1, 1, 1] as const]]) }], 1, 4, false);
    expect(Array.from(img.data)).toEqual(new Array(16).fill(0));
  });
});

describe('blending', () => {
  const grey = (0xff000000 | (100 << 16) | (100 << 8) | 100) >>> 0;
  it('mixes by opacity × coverage in the 0xAABBGGRR layout', () => {
    const px = new Uint32Array([grey, grey, grey]);
    const img = { rows: 1, columns: 3, data: Uint8Array.from([0, 0, 0, 0, 255, 0, 0, 255, 0, 0, 255, 51]) };
    blendSegments(px, img, { opacity: 0.5 });
    expect(px[0]).toBe(grey);
    expect(px[1] & 0xff).toBe(Math.round(100 + 155 * 0.5)); // red channel towards 255
    expect((px[1] >> 8) & 0xff).toBe(Math.round(100 - 100 * 0.5));
    expect((px[2] >> 16) & 0xff).toBe(Math.round(100 + 155 * 0.5 * 0.2)); // blue, 20 % of 50 %
    const none = new Uint32Array([grey, grey, grey]);
    blendSegments(none, img, { opacity: 0 });
    expect(Array.from(none)).toEqual([grey, grey, grey]);
  });

  it('is applied by the CPU kernel after windowing', () => {
    const frame = { rows: 1, columns: 2, samplesPerPixel: 1, slope: 1, intercept: 0, data: new Uint16Array(2) };
    const out = new Uint32Array(2);
    const params = { window: { center: 1000, width: 10 }, mode: 'linear' as const, invert: false };
    const image = { rows: 1, columns: 2, data: Uint8Array.from([255, 0, 0, 255, 0, 0, 0, 0]) };
    paintPixels(frame, { min: 0, max: 0 }, null, params, out, { image, style: { opacity: 1 } });
    expect(out[0]).toBe((0xff000000 | 255) >>> 0); // opaque red
    expect(out[1]).toBe(0xff000000 >>> 0); // black image
  });
});

describe('probe and counts', () => {
  it('names the shown segments under a pixel, with the fraction of a fractional one', () => {
    const sources: SegmentSource[][] = [
      [{ kind: 'labels', map: row([3, 1, 0]), colours: new Map([[3, [0, 255, 0] as const]]) }],
      [{ kind: 'labels', map: row([1, 0, 0]), colours: new Map([[1, [0, 0, 255] as const]]) }],
      [{ kind: 'mask', map: row([0, 0, 102]), number: 2, colour: [0, 0, 255] }],
    ];
    expect(segmentsAt([A, B, F], sources, 0, 0).map((s) => s.segment.label)).toEqual(['Tumour', 'Pred']);
    expect(segmentsAt([A, B, F], sources, 0, 1)).toEqual([]); // Liver is hidden
    const [p] = segmentsAt([A, B, F], sources, 0, 2);
    expect([p.segment.label, p.fraction]).toEqual(['P2', 0.4]);
    expect(segmentsAt([A], sources, 5, 0)).toEqual([]);
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

import { describe, expect, it } from 'vitest';
import {
  aspectOf,
  directionLetters,
  edgeLetters,
  imageDirections,
  planeCount,
  planeName,
  planeSize,
  planeSpacing,
  referenceLines,
  reformatFlip,
  voxelFromImage,
  voxelInImage,
  type Vec3,
} from './mpr';
import { UPRIGHT } from './viewport';

const AXIAL = { orientation: [1, 0, 0, 0, 1, 0] as [number, number, number, number, number, number], shape: [40, 64, 96] as [number, number, number], spacing: [5, 0.5, 0.5] as [number, number, number] };
const CORONAL = { ...AXIAL, orientation: [1, 0, 0, 0, 0, -1] as [number, number, number, number, number, number] };

describe('orientation letters', () => {
  it('names patient directions in LPS, main axis first', () => {
    expect(directionLetters([1, 0, 0])).toBe('L');
    expect(directionLetters([-1, 0, 0])).toBe('R');
    expect(directionLetters([0, 1, 0])).toBe('P');
    expect(directionLetters([0, -1, 0])).toBe('A');
    expect(directionLetters([0, 0, 1])).toBe('S');
    expect(directionLetters([0, 0, -1])).toBe('I');
    expect(directionLetters([0.8, -0.6, 0])).toBe('LA');
    expect(directionLetters([0.99, 0.1, 0])).toBe('L');
    expect(directionLetters([0, 0, 0])).toBe('');
  });

  it('an axial slice reads the radiological way: patient left on the right, anterior at the top', () => {
    const d = imageDirections(AXIAL, 0);
    expect(edgeLetters(d.right, d.down, UPRIGHT)).toEqual({ top: 'A', right: 'L', bottom: 'P', left: 'R' });
  });

  it('letters follow rotation and flips on screen', () => {
    const d = imageDirections(AXIAL, 0);
    expect(edgeLetters(d.right, d.down, { rotation: 1, flipH: false, flipV: false })).toEqual({ top: 'R', right: 'A', bottom: 'L', left: 'P' });
    expect(edgeLetters(d.right, d.down, { rotation: 0, flipH: true, flipV: false })).toEqual({ top: 'A', right: 'R', bottom: 'P', left: 'L' });
  });

  it("an axial stack's reformats are flipped so S is at the top", () => {
    const cor = imageDirections(AXIAL, 1);
    expect(cor).toEqual({ right: [1, 0, 0], down: [0, 0, 1] });
    expect(reformatFlip(cor.down)).toBe(true);
    expect(edgeLetters(cor.right, cor.down, { rotation: 0, flipH: false, flipV: true })).toEqual({ top: 'S', right: 'L', bottom: 'I', left: 'R' });
    const sag = imageDirections(AXIAL, 2);
    expect(sag.right).toEqual([0, 1, 0]);
    expect(edgeLetters(sag.right, sag.down, { rotation: 0, flipH: false, flipV: true })).toEqual({ top: 'S', right: 'P', bottom: 'I', left: 'A' });
  });

  it('a coronal stack: its axis-1 reformat is an axial view with A at the top', () => {
    const d = imageDirections(CORONAL, 1);
    // n = r × c = x × (−z) = +y (posterior): already down = P, no flip
    expect(d.down).toEqual([0, 1, 0] as Vec3);
    expect(reformatFlip(d.down)).toBe(false);
    expect(edgeLetters(d.right, d.down, UPRIGHT)).toEqual({ top: 'A', right: 'L', bottom: 'P', left: 'R' });
    expect(reformatFlip([0, -1, 0])).toBe(true);
    expect(reformatFlip([0, 0, -1])).toBe(false);
  });
});

describe('plane geometry', () => {
  it('sizes, counts and spacings per axis', () => {
    expect(planeSize(AXIAL, 0)).toEqual({ rows: 64, columns: 96 });
    expect(planeSize(AXIAL, 1)).toEqual({ rows: 40, columns: 96 });
    expect(planeSize(AXIAL, 2)).toEqual({ rows: 40, columns: 64 });
    expect([0, 1, 2].map((a) => planeCount(AXIAL, a as 0 | 1 | 2))).toEqual([40, 64, 96]);
    expect(planeSpacing({ spacing: [5, 0.5, 0.25] }, 0)).toEqual([0.5, 0.25]);
    expect(planeSpacing({ spacing: [5, 0.5, 0.25] }, 1)).toEqual([5, 0.25]);
    expect(planeSpacing({ spacing: [5, 0.5, 0.25] }, 2)).toEqual([5, 0.5]);
  });

  it('aspect is row spacing over column spacing', () => {
    expect(aspectOf([5, 0.5])).toBe(10);
    expect(aspectOf([0.7, 0.7])).toBe(1);
    expect(aspectOf(null)).toBe(1);
    expect(aspectOf([0, 1])).toBe(1);
  });

  it('plane names for the viewports', () => {
    expect(planeName('axial')).toBe('Axial');
    expect(planeName('sagittal')).toBe('Sagittal');
    expect(planeName('oblique')).toBe('Oblique');
    expect(planeName(undefined)).toBe('Oblique');
  });
});

describe('crosshair and reference lines', () => {
  const p = { s: 10, r: 20, c: 30 };

  it('the voxel sits at its centre in each image', () => {
    expect(voxelInImage(p, 0)).toEqual({ x: 30.5, y: 20.5 });
    expect(voxelInImage(p, 1)).toEqual({ x: 30.5, y: 10.5 });
    expect(voxelInImage(p, 2)).toEqual({ x: 20.5, y: 10.5 });
  });

  it('a click moves the two coordinates its image shows, clamped to the volume', () => {
    expect(voxelFromImage(p, 0, { x: 5.2, y: 7.9 }, AXIAL.shape)).toEqual({ s: 10, r: 7, c: 5 });
    expect(voxelFromImage(p, 1, { x: 95.9, y: 39.5 }, AXIAL.shape)).toEqual({ s: 39, r: 20, c: 95 });
    expect(voxelFromImage(p, 2, { x: -3, y: 400 }, AXIAL.shape)).toEqual({ s: 39, r: 0, c: 30 });
    // round trip: the clicked voxel's centre gives the same voxel back
    for (const a of [0, 1, 2] as const) expect(voxelFromImage(p, a, voxelInImage(p, a), AXIAL.shape)).toEqual(p);
  });

  it('reference lines of the other two planes cross at the crosshair', () => {
    expect(referenceLines(p, 0)).toEqual([
      { plane: 1, direction: 'h', at: 20.5 },
      { plane: 2, direction: 'v', at: 30.5 },
    ]);
    expect(referenceLines(p, 1)).toEqual([
      { plane: 0, direction: 'h', at: 10.5 },
      { plane: 2, direction: 'v', at: 30.5 },
    ]);
    expect(referenceLines(p, 2)).toEqual([
      { plane: 0, direction: 'h', at: 10.5 },
      { plane: 1, direction: 'v', at: 20.5 },
    ]);
    for (const a of [0, 1, 2] as const) {
      const c = voxelInImage(p, a);
      const [h, v] = referenceLines(p, a);
      expect([v.at, h.at]).toEqual([c.x, c.y]);
    }
  });
});

describe('physical aspect on screen', () => {
  it('stretchRows scales image rows only', async () => {
    const { stretchRows } = await import('./mpr');
    const { apply, imageToScreenMatrix } = await import('./viewport');
    const m = stretchRows(imageToScreenMatrix({ cx: 0, cy: 0, zoom: 2, rotation: 0, flipH: false, flipV: false }, { width: 0, height: 0 }), 10);
    // a 4-column × 3-row box of 0.5 mm × 5 mm pixels is 2 mm wide, 15 mm tall: 1 : 7.5 on screen
    const a = apply(m, { x: 0, y: 0 });
    const b = apply(m, { x: 4, y: 3 });
    expect((b.y - a.y) / (b.x - a.x)).toBe(7.5);
  });
});

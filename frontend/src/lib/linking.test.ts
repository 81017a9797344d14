import { describe, expect, it } from 'vitest';
import {
  linkedDepth,
  linkedFrame,
  linkedPlacement,
  linkedSlice,
  linkedZoom,
  nearestSlice,
  sliceLinkOf,
  volumeCentres,
  type PlacedView,
  type SliceGeometry,
} from './linking';
import { UPRIGHT, imageToScreen, type Orientation } from './viewport';

/** An axial stack of `n` slices at z = z0 + k·gap (positions along +z), 10 × 10 pixels of 1 mm. */
function axial(n: number, z0: number, gap: number, space: string | null = 'FoR1'): SliceGeometry {
  const { normal, centres } = volumeCentres({
    shape: [n, 10, 10],
    spacing: [gap, 1, 1],
    origin: [0, 0, z0],
    orientation: [1, 0, 0, 0, 1, 0],
    slice_positions: Array.from({ length: n }, (_, k) => k * gap),
  });
  return { normal, centres, space };
}

describe('slice linking', () => {
  it('follows the frame by index, clamped', () => {
    expect(linkedFrame(3, 12)).toBe(3);
    expect(linkedFrame(11, 4)).toBe(3);
    expect(linkedFrame(0, 1)).toBe(0);
  });

  it('puts each slice centre where docs/api.md places its pixels', () => {
    const { normal, centres } = volumeCentres({
      shape: [3, 5, 9],
      spacing: [2, 0.5, 0.25],
      origin: [10, 20, 30],
      orientation: [1, 0, 0, 0, 1, 0],
      slice_positions: [0, 2, 5], // non-uniform gaps
    });
    expect(normal).toEqual([0, 0, 1]);
    // centre pixel (row 2, column 4): origin + 4·0.25·r + 2·0.5·c + pos·n
    expect(centres).toEqual([
      [11, 21, 30],
      [11, 21, 32],
      [11, 21, 35],
    ]);
  });

  it('links stacks with geometry by patient position, nearest along the normal', () => {
    // 2.5 mm slices from z=0; 5 mm slices from z=1: z=10 (slice 4) is nearest z=11 (slice 2)
    const a = axial(20, 0, 2.5);
    const b = axial(10, 1, 5);
    expect(sliceLinkOf(a, b, false)).toBe('position');
    expect(linkedSlice({ position: 4, count: 20, geometry: a }, { count: 10, geometry: b }, false)).toBe(2);
    expect(linkedSlice({ position: 0, count: 20, geometry: a }, { count: 10, geometry: b }, false)).toBe(0);
    // beyond the follower's extent: its nearest (last) slice
    expect(linkedSlice({ position: 19, count: 20, geometry: a }, { count: 10, geometry: b }, false)).toBe(9);
    // and back: z=36 (slice 7 of b) is slice 14 of a (z=35 and 37.5: 35 is nearer)
    expect(linkedSlice({ position: 7, count: 10, geometry: b }, { count: 20, geometry: a }, false)).toBe(14);
  });

  it('links by position whichever way the slices are ordered along a flipped normal', () => {
    // the same z positions, but the follower's normal points down (feet first): positions mirror
    const a = axial(5, 0, 2);
    const { centres } = volumeCentres({
      shape: [5, 10, 10],
      spacing: [2, 1, 1],
      origin: [0, 9, 8],
      orientation: [1, 0, 0, 0, -1, 0], // n = (0, 0, −1)
      slice_positions: [0, 2, 4, 6, 8],
    });
    const b: SliceGeometry = { normal: [0, 0, -1], centres, space: 'FoR1' };
    expect(sliceLinkOf(a, b, false)).toBe('position');
    expect(linkedSlice({ position: 1, count: 5, geometry: a }, { count: 5, geometry: b }, false)).toBe(3);
  });

  it('falls back to the index without geometry, across frames of reference or for crossing planes', () => {
    const a = axial(20, 0, 2.5);
    expect(sliceLinkOf(a, null, false)).toBe('index');
    expect(sliceLinkOf(null, a, false)).toBe('index');
    // another frame of reference (a prior study, another patient) or an unknown space: index
    expect(sliceLinkOf(a, axial(10, 1, 5, 'FoR2'), false)).toBe('index');
    expect(sliceLinkOf(axial(10, 1, 5, null), axial(10, 1, 5, null), false)).toBe('index');
    expect(linkedSlice({ position: 4, count: 20, geometry: a }, { count: 10, geometry: axial(10, 1, 5, 'FoR2') }, false)).toBe(4);
    const sagittal: SliceGeometry = { normal: [1, 0, 0], centres: [[0, 0, 0]], space: 'FoR1' };
    expect(sliceLinkOf(a, sagittal, false)).toBe('index');
    expect(linkedSlice({ position: 4, count: 20, geometry: a }, { count: 10, geometry: null }, false)).toBe(4);
    expect(linkedSlice({ position: 14, count: 20, geometry: null }, { count: 10, geometry: null }, false)).toBe(9);
  });

  it('links hung tomosynthesis by relative depth', () => {
    const a = axial(20, 0, 2.5);
    expect(sliceLinkOf(a, a, true)).toBe('depth');
    expect(linkedDepth(0, 10, 20)).toBe(0);
    expect(linkedDepth(9, 10, 20)).toBe(19);
    expect(linkedDepth(4, 10, 20)).toBe(8); // 4/9 of 19 = 8.4
    expect(linkedDepth(10, 21, 11)).toBe(5); // the middle slice
    expect(linkedDepth(3, 10, 1)).toBe(0);
    expect(linkedDepth(3, 1, 10)).toBe(3); // a single image: by index
    expect(linkedSlice({ position: 4, count: 10, geometry: null }, { count: 20, geometry: null }, true)).toBe(8);
  });

  it('picks the nearest slice on non-uniform gaps', () => {
    const g: SliceGeometry = { normal: [0, 0, 1], centres: [0, 1, 5, 6].map((z) => [0, 0, z]), space: null };
    expect(nearestSlice(g, [3, 3, 2.9])).toBe(1);
    expect(nearestSlice(g, [0, 0, 3.1])).toBe(2);
  });
});

describe('zoom and pan linking', () => {
  it('keeps the physical scale when pixel spacings differ', () => {
    // 0.5 mm pixels at zoom 2 = 4 screen px per mm; 0.25 mm pixels need zoom 1 for the same
    expect(linkedZoom(2, 0.5, 0.25)).toBe(1);
    expect(linkedZoom(2, null, 0.25)).toBe(2);
    expect(linkedZoom(1.5, 0.3, 0.3)).toBe(1.5);
  });

  const canvas = { width: 400, height: 300 };
  /** Screen displacement (px) of an image point from the fitted view to the placement. */
  function moved(v: PlacedView, p: { x: number; y: number }): { x: number; y: number } {
    const o: Orientation = v.orientation;
    const a = imageToScreen({ ...v.base, ...o }, canvas, p);
    const b = imageToScreen({ ...(v.placement ?? v.base), ...o }, canvas, p);
    return { x: b.x - a.x, y: b.y - a.y };
  }

  it('pans the follower by the same millimetres on screen when pixel spacings differ', () => {
    // active: 0.5 mm pixels fitted at zoom 2 (4 px/mm), its centre moved 10 columns left, 6 rows up
    const active: PlacedView = {
      base: { cx: 50, cy: 40, zoom: 2 },
      placement: { cx: 40, cy: 34, zoom: 2 },
      orientation: UPRIGHT,
      spacing: { x: 0.5, y: 0.5 },
    };
    // follower: 0.25 mm pixels fitted at zoom 3
    const base = { cx: 100, cy: 80, zoom: 3 };
    const out = linkedPlacement(active, { base, orientation: UPRIGHT, spacing: { x: 0.25, y: 0.25 } });
    expect(out).not.toBeNull();
    // same px/mm: zoom 2 / 0.5 = 4 px/mm = zoom 1 on 0.25 mm pixels
    expect(out!.zoom).toBeCloseTo(1);
    // the centre moved 5 mm left and 3 mm up: 20 and 12 pixels of 0.25 mm
    expect(out!.cx).toBeCloseTo(80);
    expect(out!.cy).toBeCloseTo(68);
  });

  it('uses the row and column spacings apart on non-square pixels', () => {
    const active: PlacedView = {
      base: { cx: 0, cy: 0, zoom: 1 },
      placement: { cx: 4, cy: 4, zoom: 1 },
      orientation: UPRIGHT,
      spacing: { x: 0.25, y: 0.5 }, // 4 columns = 1 mm, 4 rows = 2 mm
    };
    const out = linkedPlacement(active, { base: { cx: 0, cy: 0, zoom: 1 }, orientation: UPRIGHT, spacing: { x: 1, y: 1 } });
    expect(out!.cx).toBeCloseTo(1);
    expect(out!.cy).toBeCloseTo(2);
    expect(out!.zoom).toBeCloseTo(4);
  });

  it('moves a rotated or flipped follower the same way on screen', () => {
    const active: PlacedView = {
      base: { cx: 50, cy: 50, zoom: 2 },
      placement: { cx: 60, cy: 45, zoom: 2 },
      orientation: UPRIGHT,
      spacing: { x: 1, y: 1 },
    };
    const want = moved(active, { x: 50, y: 50 }); // where the image centre went on screen
    for (const orientation of [
      { rotation: 1, flipH: false, flipV: false },
      { rotation: 0, flipH: true, flipV: false },
      { rotation: 3, flipH: false, flipV: true },
    ]) {
      const base = { cx: 50, cy: 50, zoom: 2 };
      const out = linkedPlacement(active, { base, orientation, spacing: { x: 1, y: 1 } })!;
      const got = moved({ base, placement: out, orientation, spacing: null }, { x: 50, y: 50 });
      expect(got.x).toBeCloseTo(want.x);
      expect(got.y).toBeCloseTo(want.y);
    }
  });

  it('mirrors left–right between facing cells of a hanging', () => {
    const active: PlacedView = {
      base: { cx: 50, cy: 50, zoom: 1 },
      placement: { cx: 60, cy: 40, zoom: 1 },
      orientation: UPRIGHT,
      spacing: { x: 0.1, y: 0.1 },
    };
    const out = linkedPlacement(active, { base: { cx: 50, cy: 50, zoom: 1 }, orientation: UPRIGHT, spacing: { x: 0.1, y: 0.1 } }, true)!;
    expect(out.cx).toBeCloseTo(40);
    expect(out.cy).toBeCloseTo(40);
  });

  it('pans in pixels without both spacings, and stays fitted when the active view is', () => {
    const active: PlacedView = {
      base: { cx: 10, cy: 10, zoom: 1 },
      placement: { cx: 15, cy: 10, zoom: 2 },
      orientation: UPRIGHT,
      spacing: null,
    };
    const out = linkedPlacement(active, { base: { cx: 30, cy: 30, zoom: 1 }, orientation: UPRIGHT, spacing: { x: 0.5, y: 0.5 } })!;
    expect(out).toEqual({ cx: 35, cy: 30, zoom: 2 });
    expect(linkedPlacement({ ...active, placement: null }, { base: active.base, orientation: UPRIGHT, spacing: null })).toBeNull();
  });
});

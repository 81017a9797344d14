import { describe, expect, it } from 'vitest';
import {
  appliesTo,
  boxFromDrag,
  fromRoiSet,
  growBox,
  handlePoint,
  hitHandle,
  moveBox,
  pickBox,
  resizeBox,
  snap,
  toRoiSet,
  type Box,
} from './roi';

const set = { num_roi: 2, roi_coords: [[120, 340, 220, 430], [400, 510, 480, 590]], roi_frames: [[0, 1, 2], []] };

describe('RoiSet round trip', () => {
  it('keeps coordinates and frames', () => {
    const boxes = fromRoiSet(set);
    expect(boxes[0]).toEqual({ y0: 120, x0: 340, y1: 220, x1: 430, frames: [0, 1, 2] });
    expect(toRoiSet(boxes)).toEqual(set);
  });
  it('knows which frames a box applies to', () => {
    const [a, b] = fromRoiSet(set);
    expect(appliesTo(a, 2)).toBe(true);
    expect(appliesTo(a, 3)).toBe(false);
    expect(appliesTo(b, 59)).toBe(true);
  });
});

describe('drawing', () => {
  it('normalizes a drag in any direction and snaps into the image', () => {
    const b = boxFromDrag({ x: 50.4, y: 30.6 }, { x: -3, y: 10.2 }, [4]);
    expect(b).toEqual({ y0: 10.2, x0: -3, y1: 30.6, x1: 50.4, frames: [4] });
    expect(snap(b, 20, 40)).toEqual({ y0: 10, x0: 0, y1: 20, x1: 40, frames: [4] });
  });
});

describe('handles', () => {
  const b: Box = { y0: 10, x0: 20, y1: 30, x1: 60, frames: [] };
  it('places 8 handles on corners and edge midpoints', () => {
    expect(handlePoint(b, 'nw')).toEqual({ x: 20, y: 10 });
    expect(handlePoint(b, 's')).toEqual({ x: 40, y: 30 });
    expect(handlePoint(b, 'e')).toEqual({ x: 60, y: 20 });
  });
  it('hits the nearest handle within tolerance', () => {
    expect(hitHandle(b, { x: 61, y: 29 }, 2)).toBe('se');
    expect(hitHandle(b, { x: 40, y: 20 }, 2)).toBeNull();
  });
  it('resizes from one handle and flips through the opposite side', () => {
    expect(resizeBox(b, 'e', { x: 80, y: 0 }, 100, 100)).toEqual({ y0: 10, x0: 20, y1: 30, x1: 80, frames: [] });
    expect(resizeBox(b, 'n', { x: 0, y: 50 }, 100, 100)).toEqual({ y0: 30, x0: 20, y1: 50, x1: 60, frames: [] });
    expect(resizeBox(b, 'nw', { x: -5, y: -5 }, 100, 100)).toEqual({ y0: 0, x0: 0, y1: 30, x1: 60, frames: [] });
  });
});

describe('move and pick', () => {
  const boxes: Box[] = [
    { y0: 0, x0: 0, y1: 50, x1: 50, frames: [] },
    { y0: 10, x0: 10, y1: 20, x1: 20, frames: [1] },
  ];
  it('moves and clamps into the image', () => {
    expect(moveBox(boxes[0], 70, -5, 100, 100)).toEqual({ y0: 0, x0: 50, y1: 50, x1: 100, frames: [] });
  });
  it('picks the smallest box shown on the frame', () => {
    expect(pickBox(boxes, 1, { x: 15, y: 15 }, 0)).toBe(1);
    expect(pickBox(boxes, 0, { x: 15, y: 15 }, 0)).toBe(0);
    expect(pickBox(boxes, 0, { x: 75, y: 15 }, 0)).toBe(-1);
  });
});

describe('growBox', () => {
  const b: Box = { y0: 10, x0: 20, y1: 30, x1: 60, frames: [2] };
  it('moves only the bottom-right corner', () => {
    expect(growBox(b, 5, -3, 100, 100)).toEqual({ y0: 10, x0: 20, y1: 27, x1: 65, frames: [2] });
  });
  it('stays inside the image and at least one pixel wide and high', () => {
    expect(growBox(b, 500, 500, 100, 80)).toEqual({ y0: 10, x0: 20, y1: 100, x1: 80, frames: [2] });
    expect(growBox(b, -500, -500, 100, 80)).toEqual({ y0: 10, x0: 20, y1: 11, x1: 21, frames: [2] });
  });
});

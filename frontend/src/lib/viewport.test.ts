import { describe, expect, it } from 'vitest';
import {
  UPRIGHT,
  fitView,
  mirror,
  turn,
  flip,
  imageToScreen,
  pan,
  pixelAt,
  rotate,
  screenToImage,
  zoomAbout,
  type View,
} from './viewport';

const canvas = { width: 800, height: 600 };
const image = { width: 400, height: 200 };

function close(p: { x: number; y: number }, x: number, y: number): void {
  expect(p.x).toBeCloseTo(x, 9);
  expect(p.y).toBeCloseTo(y, 9);
}

describe('fitView', () => {
  it('fits the limiting dimension and centres', () => {
    const v = fitView(image, canvas);
    expect(v.zoom).toBe(2);
    close(imageToScreen(v, canvas, { x: 0, y: 0 }), 0, 100);
    close(imageToScreen(v, canvas, { x: 400, y: 200 }), 800, 500);
  });
  it('swaps dimensions for a quarter turn', () => {
    const v = fitView(image, canvas, { rotation: 1, flipH: false, flipV: false });
    expect(v.zoom).toBe(1.5);
  });
});

describe('rotation and flips act on screen', () => {
  const v = fitView({ width: 100, height: 100 }, { width: 100, height: 100 });
  it('rotates clockwise: the top-left corner goes to the top-right', () => {
    close(imageToScreen(rotate(v, 1), { width: 100, height: 100 }, { x: 0, y: 0 }), 100, 0);
    close(imageToScreen(rotate(v, -1), { width: 100, height: 100 }, { x: 0, y: 0 }), 0, 100);
  });
  it('flips horizontally and vertically', () => {
    close(imageToScreen(flip(v, 'h'), { width: 100, height: 100 }, { x: 0, y: 0 }), 100, 0);
    close(imageToScreen(flip(v, 'v'), { width: 100, height: 100 }, { x: 0, y: 0 }), 0, 100);
  });
  it('flip then rotate still turns the picture clockwise on screen', () => {
    const size = { width: 100, height: 100 };
    const f = flip(v, 'h'); // top-left corner now at top-right
    close(imageToScreen(f, size, { x: 0, y: 0 }), 100, 0);
    // clockwise: top-right goes to bottom-right
    close(imageToScreen(rotate(f, 1), size, { x: 0, y: 0 }), 100, 100);
  });
  it('four quarter turns are the identity', () => {
    let r: View = v;
    for (let i = 0; i < 4; i++) r = rotate(r, 1);
    expect(r.rotation).toBe(0);
  });
});

describe('inverse, pan and zoom', () => {
  const v: View = { cx: 37, cy: 12, zoom: 3.5, rotation: 3, flipH: true, flipV: false };
  it('screenToImage inverts imageToScreen', () => {
    const p = { x: 123.25, y: -7.5 };
    const s = imageToScreen(v, canvas, p);
    close(screenToImage(v, canvas, s), p.x, p.y);
  });
  it('pan moves the image with the pointer', () => {
    const p = { x: 10, y: 20 };
    const before = imageToScreen(v, canvas, p);
    const after = imageToScreen(pan(v, 15, -4), canvas, p);
    close(after, before.x + 15, before.y - 4);
  });
  it('zoomAbout keeps the point under the pointer fixed', () => {
    const at = { x: 610, y: 77 };
    const img = screenToImage(v, canvas, at);
    const z = zoomAbout(v, canvas, 1.7, at);
    expect(z.zoom).toBeCloseTo(3.5 * 1.7, 9);
    close(imageToScreen(z, canvas, img), at.x, at.y);
  });
});

describe('pixelAt', () => {
  it('floors to a pixel and rejects points outside', () => {
    expect(pixelAt({ x: 3.9, y: 0.1 }, image)).toEqual({ row: 0, column: 3 });
    expect(pixelAt({ x: 400, y: 5 }, image)).toBeNull();
    expect(pixelAt({ x: -0.01, y: 5 }, image)).toBeNull();
  });
});

describe('orientation helpers', () => {
  it('turn and mirror change only the orientation, as rotate and flip do', () => {
    expect(turn(UPRIGHT, 1)).toEqual({ rotation: 1, flipH: false, flipV: false });
    expect(turn({ rotation: 0, flipH: true, flipV: false }, 1)).toEqual({ rotation: 3, flipH: true, flipV: false });
    expect(mirror(UPRIGHT, 'v')).toEqual({ rotation: 0, flipH: false, flipV: true });
  });
});

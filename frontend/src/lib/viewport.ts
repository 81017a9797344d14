/**
 * Screen ↔ image transforms. Image coordinates are (x = column, y = row) in pixel units with
 * the top-left corner of pixel (0, 0) at (0, 0). A view is: the image point shown at the canvas
 * centre, a zoom (screen pixels per image pixel), a number of clockwise quarter turns and
 * horizontal/vertical flips, both applied in screen space (what you see is what flips).
 *
 *   screen = canvasCentre + zoom · F · R · (image − centre)
 */

export interface View {
  cx: number;
  cy: number;
  zoom: number;
  /** Clockwise quarter turns, 0..3. */
  rotation: number;
  flipH: boolean;
  flipV: boolean;
}

export interface Size {
  width: number;
  height: number;
}

export interface Point {
  x: number;
  y: number;
}

/** A 2-D affine map: x' = a·x + c·y + e, y' = b·x + d·y + f (canvas `setTransform` order). */
export interface Affine {
  a: number;
  b: number;
  c: number;
  d: number;
  e: number;
  f: number;
}

export const MIN_ZOOM = 0.02;
export const MAX_ZOOM = 64;

const clampZoom = (z: number): number => Math.min(MAX_ZOOM, Math.max(MIN_ZOOM, z));

/** The image fitted to the canvas, centred, unrotated, unflipped. */
export function fitView(image: Size, canvas: Size, keep?: Pick<View, 'rotation' | 'flipH' | 'flipV'>): View {
  const rotation = keep?.rotation ?? 0;
  const odd = rotation % 2 === 1;
  const w = odd ? image.height : image.width;
  const h = odd ? image.width : image.height;
  const zoom =
    w > 0 && h > 0 && canvas.width > 0 && canvas.height > 0
      ? clampZoom(Math.min(canvas.width / w, canvas.height / h))
      : 1;
  return {
    cx: image.width / 2,
    cy: image.height / 2,
    zoom,
    rotation,
    flipH: keep?.flipH ?? false,
    flipV: keep?.flipV ?? false,
  };
}

/** The linear part F·R·zoom as [a, b, c, d]. */
function linear(v: View): [number, number, number, number] {
  // R (clockwise on screen where y points down): rotation k → cos/sin of k·90°.
  const k = ((v.rotation % 4) + 4) % 4;
  const cos = [1, 0, -1, 0][k];
  const sin = [0, 1, 0, -1][k];
  // x' = cos·x − sin·y, y' = sin·x + cos·y
  let a = cos;
  let b = sin;
  let c = -sin;
  let d = cos;
  if (v.flipH) {
    a = -a;
    c = -c;
  }
  if (v.flipV) {
    b = -b;
    d = -d;
  }
  return [a * v.zoom, b * v.zoom, c * v.zoom, d * v.zoom];
}

/** Image → screen as an affine map. */
export function imageToScreenMatrix(v: View, canvas: Size): Affine {
  const [a, b, c, d] = linear(v);
  return {
    a,
    b,
    c,
    d,
    e: canvas.width / 2 - (a * v.cx + c * v.cy),
    f: canvas.height / 2 - (b * v.cx + d * v.cy),
  };
}

export function apply(m: Affine, p: Point): Point {
  return { x: m.a * p.x + m.c * p.y + m.e, y: m.b * p.x + m.d * p.y + m.f };
}

export function invert(m: Affine): Affine {
  const det = m.a * m.d - m.b * m.c;
  const a = m.d / det;
  const b = -m.b / det;
  const c = -m.c / det;
  const d = m.a / det;
  return { a, b, c, d, e: -(a * m.e + c * m.f), f: -(b * m.e + d * m.f) };
}

export function imageToScreen(v: View, canvas: Size, p: Point): Point {
  return apply(imageToScreenMatrix(v, canvas), p);
}

export function screenToImage(v: View, canvas: Size, p: Point): Point {
  return apply(invert(imageToScreenMatrix(v, canvas)), p);
}

/** Move the image with the pointer by a screen delta. */
export function pan(v: View, dx: number, dy: number): View {
  const m = invert(imageToScreenMatrix(v, { width: 0, height: 0 }));
  // a screen delta maps through the linear part of the inverse only
  return { ...v, cx: v.cx - (m.a * dx + m.c * dy), cy: v.cy - (m.b * dx + m.d * dy) };
}

/** Zoom by `factor`, keeping the image point under the screen point `at` where it is. */
export function zoomAbout(v: View, canvas: Size, factor: number, at: Point): View {
  const before = screenToImage(v, canvas, at);
  const next = { ...v, zoom: clampZoom(v.zoom * factor) };
  const after = screenToImage(next, canvas, at);
  return { ...next, cx: next.cx + before.x - after.x, cy: next.cy + before.y - after.y };
}

/** Rotate by quarter turns (+1 clockwise) about the canvas centre. */
export function rotate(v: View, quarterTurns: number): View {
  // with a single flip the screen rotation runs the other way round in image terms
  const mirrored = v.flipH !== v.flipV;
  const k = mirrored ? -quarterTurns : quarterTurns;
  return { ...v, rotation: (((v.rotation + k) % 4) + 4) % 4 };
}

export function flip(v: View, axis: 'h' | 'v'): View {
  return axis === 'h' ? { ...v, flipH: !v.flipH } : { ...v, flipV: !v.flipV };
}

/** The image pixel (row, column) under an image point, or null outside the image. */
export function pixelAt(p: Point, image: Size): { row: number; column: number } | null {
  const column = Math.floor(p.x);
  const row = Math.floor(p.y);
  if (column < 0 || row < 0 || column >= image.width || row >= image.height) return null;
  return { row, column };
}

/** How the image is turned on screen (the part of a view kept per file). */
export type Orientation = Pick<View, 'rotation' | 'flipH' | 'flipV'>;

/** Where the image sits on screen: the image point at the canvas centre and the zoom (null: fitted). */
export type Placement = Pick<View, 'cx' | 'cy' | 'zoom'>;

export const UPRIGHT: Orientation = { rotation: 0, flipH: false, flipV: false };

const orientationOf = (v: View): Orientation => ({ rotation: v.rotation, flipH: v.flipH, flipV: v.flipV });

/** An orientation turned by quarter turns (+1 clockwise on screen). */
export function turn(o: Orientation, quarterTurns: number): Orientation {
  return orientationOf(rotate({ cx: 0, cy: 0, zoom: 1, ...o }, quarterTurns));
}

/** An orientation flipped on screen. */
export function mirror(o: Orientation, axis: 'h' | 'v'): Orientation {
  return orientationOf(flip({ cx: 0, cy: 0, zoom: 1, ...o }, axis));
}

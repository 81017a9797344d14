/**
 * Linked viewports follow the active one (docs/viewer-ux.md "Link viewports"): the maths of
 * what a follower shows, pure so the layout manager only applies it.
 *
 * - Frame/slice: by patient position when both show slices with geometry in one frame of
 *   reference (the follower's slice nearest the active slice along its normal), by relative
 *   depth in a mammography hanging
 *   (tomosynthesis views have different slice counts), else by index.
 * - Zoom and pan: in physical units, so both show the same millimetres per screen pixel and
 *   have moved by the same millimetres on screen from their own fitted view.
 */

import type { VolumeInfo } from './api';
import { imageToScreenMatrix, invert, type Orientation, type Placement } from './viewport';

export type Vec3 = [number, number, number];

const dot = (a: Vec3, b: Vec3): number => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
const cross = (a: Vec3, b: Vec3): Vec3 => [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];

/** The frame a follower shows: the same index, clamped to its own frames. */
export function linkedFrame(activeFrame: number, followerCount: number): number {
  return Math.max(0, Math.min(followerCount - 1, activeFrame));
}

/** The same relative depth (first ↔ first, last ↔ last, rounded in between): hung tomosynthesis. */
export function linkedDepth(activeFrame: number, activeCount: number, followerCount: number): number {
  if (activeCount <= 1 || followerCount <= 1) return linkedFrame(activeFrame, followerCount);
  return linkedFrame(Math.round((activeFrame / (activeCount - 1)) * (followerCount - 1)), followerCount);
}

/** Where the slices of what a viewport scrolls through lie in patient space (mm). */
export interface SliceGeometry {
  /** The slice normal (unit). */
  normal: Vec3;
  /** Per position (slice or frame shown), the patient point of its centre. */
  centres: Vec3[];
  /**
   * The coordinate space: the Frame of Reference UID where known, else the patient. Positions
   * link only within one space (a prior study of the same patient has its own frame of
   * reference, so it links by index, not by a meaningless position).
   */
  space: string | null;
}

/**
 * The centre of each slice of a stack volume: `origin + (columns−1)/2·Δcol·r⃗ + (rows−1)/2·Δrow·c⃗
 * + slice_positions[k]·n⃗` (docs/api.md; without `slice_positions`, k · slice spacing).
 */
export function volumeCentres(v: Pick<VolumeInfo, 'shape' | 'spacing' | 'origin' | 'orientation' | 'slice_positions'>): { normal: Vec3; centres: Vec3[] } {
  const o = v.orientation;
  const r: Vec3 = [o[0], o[1], o[2]];
  const c: Vec3 = [o[3], o[4], o[5]];
  const n = cross(r, c);
  const len = Math.hypot(...n) || 1;
  const normal: Vec3 = [n[0] / len, n[1] / len, n[2] / len];
  const [slices, rows, columns] = v.shape;
  const [s, dr, dc] = v.spacing;
  const u = ((columns - 1) / 2) * dc;
  const w = ((rows - 1) / 2) * dr;
  const centres = Array.from({ length: slices }, (_, k): Vec3 => {
    const d = v.slice_positions?.[k] ?? k * s;
    return [0, 1, 2].map((i) => v.origin[i] + u * r[i] + w * c[i] + d * normal[i]) as Vec3;
  });
  return { normal, centres };
}

/** Slices this close to parallel (|cos| of their normals, about 26°) link by position. */
const PARALLEL = 0.9;

/** How a follower's slice follows: by patient position, relative depth (hanging) or index. */
export type SliceLink = 'position' | 'depth' | 'index';

export function sliceLinkOf(active: SliceGeometry | null, follower: SliceGeometry | null, hanging: boolean): SliceLink {
  if (hanging) return 'depth';
  if (!active || !follower || !active.centres.length || !follower.centres.length) return 'index';
  if (active.space === null || active.space !== follower.space) return 'index';
  return Math.abs(dot(active.normal, follower.normal)) >= PARALLEL ? 'position' : 'index';
}

/** The follower slice whose position along its normal is nearest the point `p` (ties: the first). */
export function nearestSlice(g: SliceGeometry, p: Vec3): number {
  let best = 0;
  let bestD = Infinity;
  g.centres.forEach((q, k) => {
    const d = Math.abs(dot([p[0] - q[0], p[1] - q[1], p[2] - q[2]], g.normal));
    if (d < bestD - 1e-6) {
      best = k;
      bestD = d;
    }
  });
  return best;
}

/** What a viewport scrolls through, for slice linking. */
export interface SliceState {
  position: number;
  count: number;
  geometry: SliceGeometry | null;
}

/** The position a follower shows for the active viewport's position. */
export function linkedSlice(active: SliceState, follower: Omit<SliceState, 'position'>, hanging: boolean): number {
  const how = sliceLinkOf(active.geometry, follower.geometry, hanging);
  if (how === 'depth') return linkedDepth(active.position, active.count, follower.count);
  if (how === 'position' && active.geometry && follower.geometry) {
    const p = active.geometry.centres[Math.max(0, Math.min(active.geometry.centres.length - 1, active.position))];
    return linkedFrame(nearestSlice(follower.geometry, p), follower.count);
  }
  return linkedFrame(active.position, follower.count);
}

/**
 * The zoom a follower uses so both show the same physical size on screen: screen pixels per
 * millimetre are equal when zoom / spacing is. Without both spacings, the same zoom.
 */
export function linkedZoom(activeZoom: number, activeSpacing: number | null | undefined, followerSpacing: number | null | undefined): number {
  if (!activeSpacing || !followerSpacing || activeSpacing <= 0 || followerSpacing <= 0) return activeZoom;
  return (activeZoom * followerSpacing) / activeSpacing;
}

/** Millimetres per unit of a view's x (columns) and y (display rows). */
export interface DisplaySpacing {
  x: number;
  y: number;
}

/** How one viewport is placed, for zoom/pan linking. */
export interface PlacedView {
  /** Its fitted view (placement null): the image point at the canvas centre and the zoom. */
  base: Placement;
  /** Its placement (null: fitted). */
  placement: Placement | null;
  orientation: Orientation;
  /** Null without a pixel spacing. */
  spacing: DisplaySpacing | null;
}

/** The screen direction (unit zoom) of an image-space vector under `o`, or back (`inverse`). */
function onScreen(o: Orientation, v: { x: number; y: number }, inverse = false): { x: number; y: number } {
  let m = imageToScreenMatrix({ cx: 0, cy: 0, zoom: 1, ...o }, { width: 0, height: 0 });
  if (inverse) m = invert(m);
  return { x: m.a * v.x + m.c * v.y, y: m.b * v.x + m.d * v.y };
}

/**
 * The follower's placement for the active one's: the same screen pixels per mm (zoom over
 * column spacing), and its centre moved from its own fitted view by the same millimetres in the
 * same screen direction (mirrored left–right with `mirror`: the facing cells of a hanging, so
 * both show the same part of the breast). Without both spacings, pixels stand for millimetres.
 * Null (fitted) when the active one is fitted.
 */
export function linkedPlacement(active: PlacedView, follower: Omit<PlacedView, 'placement'>, mirror = false): Placement | null {
  const p = active.placement;
  if (!p) return null;
  const known = active.spacing !== null && follower.spacing !== null;
  const sa = known && active.spacing ? active.spacing : { x: 1, y: 1 };
  const sf = known && follower.spacing ? follower.spacing : { x: 1, y: 1 };
  const zoom = linkedZoom(p.zoom, sa.x, sf.x);
  const mm = { x: (p.cx - active.base.cx) * sa.x, y: (p.cy - active.base.cy) * sa.y };
  const screen = onScreen(active.orientation, mm);
  if (mirror) screen.x = -screen.x;
  const back = onScreen(follower.orientation, screen, true);
  return { cx: follower.base.cx + back.x / sf.x, cy: follower.base.cy + back.y / sf.y, zoom };
}

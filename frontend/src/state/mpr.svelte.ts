/**
 * The MPR layout's manager: three viewports showing one stack's acquired plane (axis 0) and its
 * two reformats (axes 1, 2), tied by one crosshair voxel (each viewport's plane is one of its
 * coordinates, so moving a plane moves the crosshair and the other two planes' reference lines)
 * and one window (the active viewport's, copied to the other two).
 */

import { untrack } from 'svelte';
import type { Axis, Stack } from '../lib/api';
import { imageDirections, planeName, planeOf, reformatFlip, voxelFromImage, type Voxel } from '../lib/mpr';
import type { Point } from '../lib/viewport';
import { UPRIGHT } from '../lib/viewport';
import { ViewportState, type ViewerContext } from './viewport.svelte';

export class Mpr {
  readonly viewports: [ViewportState, ViewportState, ViewportState];
  /** The crosshair: slice of the axial (acquired) viewport, row and column of the reformats. */
  readonly point = $derived.by<Voxel>(() => {
    const [a, b, c] = this.viewports;
    return { s: a.slice, r: b.slice, c: c.slice };
  });
  private dispose: () => void;

  private constructor(viewports: [ViewportState, ViewportState, ViewportState], active: () => ViewportState) {
    this.viewports = viewports;
    this.dispose = $effect.root(() => {
      // the reformats follow the acquired plane's file (tags panel, corners) as the crosshair's slice moves
      $effect(() => {
        const [a, b, c] = this.viewports;
        const file = a.fileIndex;
        const frame = a.frameIndex;
        untrack(() => {
          for (const o of [b, c]) {
            if (o.fileIndex !== file) o.fileIndex = file;
            o.frameIndex = frame;
          }
        });
      });
      // one window for the three planes: the active one's
      $effect(() => {
        const src = active();
        if (!this.viewports.includes(src)) return;
        const choice = src.choice;
        const manual = src.manual;
        untrack(() => {
          for (const o of this.viewports) {
            if (o === src) continue;
            o.choice = choice;
            o.manual = { ...manual };
          }
        });
      });
    });
  }

  /**
   * The MPR planes of the stack `from` shows (or the stack of its file), crossing at its
   * current slice and the middle row and column; `ids` are two free viewport ids. Null when the
   * file is in no stack (yet).
   */
  static create(ctx: ViewerContext, from: ViewportState, ids: [number, number], active: () => ViewportState): Mpr | null {
    const stack: Stack | null = from.stack ?? ctx.stacks.stackOf(from.fileIndex);
    if (!stack || !stack.slices.length) return null;
    const k = from.stack ? from.slice : ViewportState.sliceOf(stack, from.fileIndex, from.frameIndex);
    if (from.stack?.id !== stack.id || from.axis !== 0) from.openStack(stack, k);
    const [file, frame] = stack.slices[from.slice] ?? stack.slices[0];
    const vol = stack.volume;
    const mid = (axis: Axis): number => (vol ? Math.floor(vol.shape[axis] / 2) : 0);
    const planes = ([1, 2] as const).map((axis, i) => {
      const v = new ViewportState(ctx, ids[i]);
      v.overlays = from.overlays; // the three planes show one reading
      v.showPlane(stack, axis, mid(axis), file, frame);
      v.orientation = { ...UPRIGHT, flipV: vol ? reformatFlip(imageDirections(vol, axis).down) : false };
      return v;
    });
    const m = new Mpr([from, planes[0], planes[1]], active);
    m.viewports.forEach((v, axis) => {
      v.planeLabel = vol ? planeName(vol.axis_labels[axis]) : null;
      v.mpr = m;
    });
    return m;
  }

  /** Leave the layout: the acquired-plane viewport stays a stack viewer; the reformats are closed by the layout. */
  destroy(): void {
    this.dispose();
    for (const v of this.viewports) {
      v.mpr = null;
      v.planeLabel = null;
    }
  }

  /** Move the crosshair to image point `q` of the viewport showing `axis`: the other two planes follow. */
  moveTo(axis: Axis, q: Point): void {
    const vol = this.viewports[0].stack?.volume;
    if (!vol) return;
    const p = voxelFromImage(this.point, axis, q, vol.shape);
    for (const v of this.viewports) if (v.axis !== axis) v.goto(planeOf(p, v.axis));
  }
}

import { describe, expect, it } from 'vitest';
import type { Window } from '../lib/api';
import { TOOLS } from '../lib/keys';
import type { Box } from '../lib/roi';
import type { Placement } from '../lib/viewport';
import type { ViewportState } from '../state/viewport.svelte';
import { BEHAVIOURS, behaviourFor, type PointerContext } from './index';

/** A viewport double with what the gestures touch, and an identity view (1 px = 1 px). */
function context() {
  const log: string[] = [];
  let boxes: Box[] = [];
  const rois = {
    boxes,
    selected: -1,
    draft: null as Box | null,
    get current() {
      return this.selected >= 0 ? this.boxes[this.selected] : null;
    },
    change(next: Box[], commit: boolean) {
      this.boxes = boxes = next;
      if (commit) log.push(`commit ${next.length}`);
    },
    newBoxFrames: (f: number) => [f],
  };
  const vp = {
    placement: null as Placement | null,
    frameIndex: 0,
    rois,
    step: (d: number) => log.push(`step ${d}`),
    setManual: (w: Window) => log.push(`window ${w.center}/${w.width}`),
    selectRoi(i: number) {
      rois.selected = i;
    },
  };
  const c: PointerContext = {
    view: { cx: 50, cy: 50, zoom: 1, rotation: 0, flipH: false, flipV: false },
    size: { width: 100, height: 100 },
    image: { width: 100, height: 100 },
    frame: null,
    win: { center: 40, width: 400 },
    vp: vp as unknown as ViewportState,
    toImage: (p) => p,
    tolerance: () => 6,
  };
  return { c, vp, log };
}

describe('tools', () => {
  it('has a behaviour for every tool, and right/middle drags zoom/pan', () => {
    for (const t of TOOLS) expect(BEHAVIOURS[t.id]).toBeDefined();
    expect(behaviourFor('roi', 2)).toBe(BEHAVIOURS.zoom);
    expect(behaviourFor('roi', 1)).toBe(BEHAVIOURS.pan);
    expect(behaviourFor('roi', 3)).toBeNull();
  });
  it('scroll steps one frame per 8 px, window follows the drag', () => {
    const { c, log } = context();
    const g = BEHAVIOURS.scroll.start(c, { x: 0, y: 0 })!;
    g.move({ x: 0, y: 17 });
    g.move({ x: 0, y: 9 });
    expect(log).toEqual(['step 2', 'step -1']);
    const w = BEHAVIOURS.window.start(c, { x: 0, y: 0 })!;
    w.move({ x: 10, y: -5 });
    expect(log[2]).toBe('window 35/410');
  });
  it('pan moves the image with the pointer', () => {
    const { c, vp } = context();
    const g = BEHAVIOURS.pan.start(c, { x: 10, y: 10 })!;
    g.move({ x: 20, y: 15 });
    expect(vp.placement).toEqual({ cx: 40, cy: 45, zoom: 1 });
  });
  it('ROI: draws, then moves the box it hits, committing once per drag', () => {
    const { c, vp, log } = context();
    const draw = BEHAVIOURS.roi.start(c, { x: 10, y: 20 })!;
    draw.move({ x: 40, y: 60 });
    expect(vp.rois.draft).toMatchObject({ x0: 10, y0: 20, x1: 40, y1: 60 });
    draw.end();
    expect(vp.rois.boxes).toEqual([{ x0: 10, y0: 20, x1: 40, y1: 60, frames: [0] }]);
    expect(vp.rois.selected).toBe(0);
    expect(BEHAVIOURS.roi.cursor(c, { x: 25, y: 40 })).toBe('move');
    const move = BEHAVIOURS.roi.start(c, { x: 25, y: 40 })!;
    move.move({ x: 30, y: 42 });
    move.move({ x: 35, y: 45 });
    move.end();
    expect(vp.rois.boxes[0]).toMatchObject({ x0: 20, y0: 25, x1: 50, y1: 65 });
    expect(log).toEqual(['commit 1', 'commit 1']);
  });
});

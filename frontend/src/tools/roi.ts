/** The ROI tool: drag on empty image to draw a box, drag a box to move it, a handle to resize. */

import { appliesTo, boxFromDrag, handleCursor, hitHandle, moveBox, pickBox, resizeBox, snap, type Box } from '../lib/roi';
import type { Point } from '../lib/viewport';
import type { Gesture, PointerContext, ToolBehaviour } from './types';

function selectedHere(c: PointerContext): Box | null {
  const b = c.vp.rois.current;
  return b && appliesTo(b, c.vp.frameIndex) ? b : null;
}

/** Move or resize box `index` live; committed once on release, if it moved. */
function editBox(c: PointerContext, index: number, change: (p: Point) => Box): Gesture {
  const { rows, columns } = { rows: c.image.height, columns: c.image.width };
  let live: Box[] | null = null;
  return {
    move(q: Point) {
      const b = snap(change(c.toImage(q)), rows, columns);
      live = c.vp.rois.boxes.map((x, i) => (i === index ? b : x));
      c.vp.rois.change(live, false);
    },
    end() {
      if (live) c.vp.rois.change(live, true);
    },
  };
}

export const roiTool: ToolBehaviour = {
  cursor(c, p) {
    const ip = c.toImage(p);
    const sel = selectedHere(c);
    const h = sel ? hitHandle(sel, ip, c.tolerance()) : null;
    if (h) return handleCursor(h);
    if (pickBox(c.vp.rois.boxes, c.vp.frameIndex, ip, c.tolerance()) >= 0) return 'move';
    return 'crosshair';
  },
  start(c, p) {
    const rois = c.vp.rois;
    const from = c.toImage(p);
    const sel = selectedHere(c);
    const handle = sel ? hitHandle(sel, from, c.tolerance()) : null;
    if (sel && handle) {
      const origin = { ...sel };
      return editBox(c, rois.selected, (ip) => resizeBox(origin, handle, ip, c.image.height, c.image.width));
    }
    const hit = pickBox(rois.boxes, c.vp.frameIndex, from, c.tolerance());
    if (hit >= 0) {
      c.vp.selectRoi(hit);
      const origin = { ...rois.boxes[hit] };
      return editBox(c, hit, (ip) => moveBox(origin, ip.x - from.x, ip.y - from.y, c.image.height, c.image.width));
    }
    c.vp.selectRoi(-1);
    const pending = rois.boxes;
    rois.draft = null;
    return {
      move(q: Point) {
        rois.draft = boxFromDrag(from, c.toImage(q), rois.newBoxFrames(c.vp.frameIndex));
      },
      end() {
        const b = rois.draft ? snap(rois.draft, c.image.height, c.image.width) : null;
        rois.draft = null;
        if (b && b.x1 - b.x0 >= 1 && b.y1 - b.y0 >= 1) {
          const next = [...pending, b];
          rois.change(next, true);
          c.vp.selectRoi(next.length - 1);
        }
      },
    };
  },
};

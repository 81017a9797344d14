/** The view tools: Pan, Zoom, Scroll (frames) and Window/Level, as pointer gestures. */

import { frameRange, isColour } from '../lib/renderer';
import { pan, zoomAbout, type Point } from '../lib/viewport';
import { dragWindow, modalityRange } from '../lib/windowing';
import type { PointerContext, ToolBehaviour } from './types';

export const panTool: ToolBehaviour = {
  cursor: () => 'grab',
  start(c, p) {
    let last = p;
    return {
      move(q: Point) {
        const next = pan(c.view, q.x - last.x, q.y - last.y);
        c.vp.placement = { cx: next.cx, cy: next.cy, zoom: next.zoom };
        last = q;
      },
      end() {},
    };
  },
};

export const zoomTool: ToolBehaviour = {
  cursor: () => 'zoom-in',
  start(c, p) {
    const base = { ...c.view };
    return {
      move(q: Point) {
        const z = zoomAbout(base, c.size, Math.exp(-(q.y - p.y) / 120), p);
        c.vp.placement = { cx: z.cx, cy: z.cy, zoom: z.zoom };
      },
      end() {},
    };
  },
};

export const scrollTool: ToolBehaviour = {
  cursor: () => 'ns-resize',
  start(c, p) {
    let steps = 0;
    return {
      move(q: Point) {
        const now = Math.trunc((q.y - p.y) / 8);
        if (now !== steps) c.vp.step(now - steps);
        steps = now;
      },
      end() {},
    };
  },
};

/** Modality units per screen pixel of a window drag: the frame's range over 600 px. */
function windowPerPixel(c: PointerContext): number {
  const f = c.frame;
  if (!f || isColour(f)) return 1;
  const r = modalityRange(frameRange(f), f.slope, f.intercept);
  return Math.max((r.max - r.min) / 600, 0.01);
}

export const windowTool: ToolBehaviour = {
  cursor: () => 'crosshair',
  start(c, p) {
    const startWin = { ...c.win };
    const perPixel = windowPerPixel(c);
    return {
      move(q: Point) {
        c.vp.setManual(dragWindow(startWin, q.x - p.x, q.y - p.y, perPixel));
      },
      end() {},
    };
  },
};

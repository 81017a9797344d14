/**
 * The Ellipse tool: drag a box to draw the ellipse inscribed in it, a stats-only region (its
 * mean/SD/min/max/area show in the probe; never saved with the ROIs nor in the EMBED CSV). A
 * click without a drag removes it. One ellipse per viewport, on the plane it was drawn on.
 */

import type { Point } from '../lib/viewport';
import type { ToolBehaviour } from './types';

/** A drag shorter than this (screen px) is a click. */
const CLICK = 3;

export const ellipseTool: ToolBehaviour = {
  cursor: () => 'crosshair',
  start(c, p) {
    const regions = c.vp.regions;
    const from = c.toImage(p);
    const clamp = (q: Point): Point => ({
      x: Math.max(0, Math.min(c.image.width, q.x)),
      y: Math.max(0, Math.min(c.image.height, q.y)),
    });
    let dragged = false;
    regions.draft = null;
    return {
      move(q: Point) {
        if (!dragged && Math.hypot(q.x - p.x, q.y - p.y) < CLICK) return;
        dragged = true;
        const a = clamp(from);
        const b = clamp(c.toImage(q));
        regions.draft = { x0: Math.min(a.x, b.x), y0: Math.min(a.y, b.y), x1: Math.max(a.x, b.x), y1: Math.max(a.y, b.y) };
      },
      end() {
        const d = regions.draft;
        regions.draft = null;
        if (!dragged) {
          regions.ellipse = null;
          return;
        }
        if (d && d.x1 - d.x0 >= 1 && d.y1 - d.y0 >= 1) regions.ellipse = { ...d, plane: c.vp.planeKey };
      },
    };
  },
};

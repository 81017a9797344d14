/**
 * The MPR crosshair on top of the chosen tool: in an MPR viewport a left press on (or near)
 * the reference lines drags the crosshair, and with the view tools (Pan, Zoom, Scroll,
 * Window/Level) a click without a drag moves it to the point; the other two planes follow.
 * Drawing tools (ROI, Ellipse, …) keep the left button for themselves, except on the lines.
 */

import type { Tool } from '../lib/keys';
import { voxelInImage } from '../lib/mpr';
import type { Point } from '../lib/viewport';
import type { Gesture, PointerContext, ToolBehaviour } from './types';

const VIEW_TOOLS: ReadonlySet<Tool> = new Set<Tool>(['pan', 'zoom', 'scroll', 'window']);
/** Screen px: how near the lines a press grabs them; how far a press must move to be a drag. */
const GRAB = 8;
const CLICK = 3;

/** Whether screen point `p` is within `GRAB` px of the crosshair's lines. */
function onLines(c: PointerContext, p: Point): boolean {
  const m = c.vp.mpr;
  if (!m) return false;
  const x = voxelInImage(m.point, c.vp.axis);
  const q = c.toImage(p);
  const zoom = c.view.zoom;
  return Math.abs(q.x - x.x) * zoom <= GRAB || Math.abs(q.y - x.y) * zoom * c.vp.aspect <= GRAB;
}

/** The crosshair follows the pointer for the whole gesture. */
function dragCrosshair(c: PointerContext, p: Point): Gesture {
  const move = (q: Point): void => c.vp.mpr?.moveTo(c.vp.axis, c.toImage(q));
  move(p);
  return { move, end() {} };
}

/** The behaviour a press gets in a viewport: the tool's, with the crosshair on top in MPR viewports. */
export function withCrosshair(tool: Tool, button: number, inner: ToolBehaviour | null): ToolBehaviour | null {
  if (button !== 0 || !inner) return inner;
  return {
    cursor: (c, p) => (c.vp.mpr && onLines(c, p) ? 'move' : inner.cursor(c, p)),
    start(c, p) {
      if (!c.vp.mpr) return inner.start(c, p);
      if (onLines(c, p)) return dragCrosshair(c, p);
      if (!VIEW_TOOLS.has(tool)) return inner.start(c, p);
      // a click moves the crosshair; a drag is the tool's (started where the press was)
      let g: Gesture | null = null;
      return {
        move(q: Point) {
          if (!g && Math.hypot(q.x - p.x, q.y - p.y) >= CLICK) g = inner.start(c, p);
          g?.move(q);
        },
        end() {
          if (g) g.end();
          else c.vp.mpr?.moveTo(c.vp.axis, c.toImage(p));
        },
      };
    },
  };
}

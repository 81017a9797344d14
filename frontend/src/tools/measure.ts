/**
 * The Length (L) and Angle (A) tools: drag to draw a length; an angle by a drag (first arm, to its
 * vertex) and a click (the second arm's end), or by three clicks. A press on a handle of any
 * measurement moves that point; a click on a handle selects the measurement (Delete removes it).
 * Points are image coordinates, clamped to the image (state/measurements.svelte.ts saves them).
 */

import { clampPoint, handleAt, toPoints } from '../lib/measure';
import type { Point } from '../lib/viewport';
import { measurements, type MeasureDraft } from '../state/measurements.svelte';
import type { Gesture, PointerContext, ToolBehaviour } from './types';

/** A drag shorter than this (screen px) is a click. */
const CLICK = 3;

const same = (a: Point, b: Point): boolean => a.x === b.x && a.y === b.y;

/** The file and frame a measurement goes on: a plain file's frame (not a reformat plane). */
function target(c: PointerContext): { file: number; frame: number } | null {
  const file = c.vp.fileIndex;
  if (file === null || c.vp.axis !== 0 || !c.frame) return null;
  return { file, frame: c.vp.frameIndex };
}

const imagePoint = (c: PointerContext, p: Point): Point => clampPoint(c.toImage(p), c.image.width, c.image.height);

function valid(d: MeasureDraft): boolean {
  const [a, b, v] = d.kind === 'angle' ? [d.points[0], d.points[2], d.points[1]] : [d.points[0], d.points[0], d.points[1]];
  return d.kind === 'angle' ? !same(a, v) && !same(b, v) : !same(a, v);
}

/** A press on a handle: move that point (a click only selects). */
function editHandle(c: PointerContext, p: Point, t: { file: number; frame: number }): Gesture | null {
  const list = measurements.list(t.file);
  const hit = handleAt(list, t.frame, c.toImage(p), c.tolerance());
  if (!hit) return null;
  const m = list[hit.index];
  measurements.selected = { file: t.file, index: hit.index };
  c.vp.rois.selected = -1; // Delete now removes the measurement, not an ROI
  let moved = false;
  return {
    move(q) {
      if (!moved && Math.hypot(q.x - p.x, q.y - p.y) < CLICK) return;
      moved = true;
      const points = toPoints(m);
      points[hit.point] = imagePoint(c, q);
      measurements.draft = { ...t, kind: m.kind, points, editing: hit.index, fixed: points.length };
    },
    end() {
      const d = measurements.draft;
      measurements.draft = null;
      if (moved && d && valid(d)) void measurements.commit(d, c.vp.info?.pixel_spacing);
    },
  };
}

export const lengthTool: ToolBehaviour = {
  cursor: () => 'crosshair',
  start(c, p) {
    const t = target(c);
    if (!t) return null;
    const edit = editHandle(c, p, t);
    if (edit) return edit;
    measurements.selected = null;
    const a = imagePoint(c, p);
    let dragged = false;
    measurements.draft = { ...t, kind: 'length', points: [a, a], editing: null, fixed: 2 };
    return {
      move(q) {
        if (!dragged && Math.hypot(q.x - p.x, q.y - p.y) < CLICK) return;
        dragged = true;
        measurements.draft = { ...t, kind: 'length', points: [a, imagePoint(c, q)], editing: null, fixed: 2 };
      },
      end() {
        const d = measurements.draft;
        measurements.draft = null;
        if (dragged && d && valid(d)) void measurements.commit(d, c.vp.info?.pixel_spacing);
      },
    };
  },
};

/** The angle being placed by clicks on this file and frame, if any. */
function placing(t: { file: number; frame: number } | null): MeasureDraft | null {
  const d = measurements.draft;
  return d && t && d.kind === 'angle' && d.editing === null && d.file === t.file && d.frame === t.frame && d.fixed < 3 ? d : null;
}

export const angleTool: ToolBehaviour = {
  cursor(c, p) {
    const d = placing(target(c));
    if (d) {
      const q = imagePoint(c, p);
      measurements.draft = { ...d, points: d.points.map((x, i) => (i < d.fixed ? x : q)) };
    }
    return 'crosshair';
  },
  start(c, p) {
    const t = target(c);
    if (!t) return null;
    const a = imagePoint(c, p);
    const d = placing(t);
    if (d) {
      // the next point of an angle being placed
      const fixed = d.fixed + 1;
      const points = d.points.map((x, i) => (i < d.fixed ? x : a));
      measurements.draft = { ...d, points, fixed };
      return {
        move(q) {
          const b = imagePoint(c, q);
          const cur = measurements.draft;
          if (cur) measurements.draft = { ...cur, points: cur.points.map((x, i) => (i < fixed - 1 ? x : b)) };
        },
        end() {
          const cur = measurements.draft;
          if (!cur || cur.fixed < 3) return;
          measurements.draft = null;
          if (valid(cur)) void measurements.commit(cur, c.vp.info?.pixel_spacing);
        },
      };
    }
    const edit = editHandle(c, p, t);
    if (edit) return edit;
    measurements.selected = null;
    let dragged = false;
    measurements.draft = { ...t, kind: 'angle', points: [a, a, a], editing: null, fixed: 1 };
    return {
      move(q) {
        if (!dragged && Math.hypot(q.x - p.x, q.y - p.y) < CLICK) return;
        dragged = true;
        const v = imagePoint(c, q);
        measurements.draft = { ...t, kind: 'angle', points: [a, v, v], editing: null, fixed: 1 };
      },
      end() {
        // a drag placed the first arm (to the vertex): the next click ends the second
        const cur = measurements.draft;
        if (cur) measurements.draft = { ...cur, fixed: dragged ? 2 : 1 };
      },
    };
  },
};

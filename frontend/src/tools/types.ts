/**
 * What a pointer tool is: a hover cursor and a gesture started by a press on the image. A
 * viewport gives its tool a `PointerContext` (its view, canvas size, frame and state) and
 * forwards the pointer moves and the release to the gesture the tool returned.
 */

import type { RawFrame, Window } from '../lib/api';
import type { Point, Size, View } from '../lib/viewport';
import type { ViewportState } from '../state/viewport.svelte';

export interface PointerContext {
  /** The view as drawn now (placement, zoom, orientation). */
  readonly view: View;
  /** Canvas size, CSS pixels. */
  readonly size: Size;
  /** Image size, pixels (columns × rows). */
  readonly image: Size;
  /** The frame shown, or null. */
  readonly frame: RawFrame | null;
  /** The window shown. */
  readonly win: Window;
  /** The viewport's state: what a gesture changes. */
  readonly vp: ViewportState;
  /** Screen (canvas) point → image point. */
  toImage(p: Point): Point;
  /** Hit tolerance in image pixels (a few screen pixels at the current zoom). */
  tolerance(): number;
}

/** A press-drag-release in progress; points are in canvas coordinates. */
export interface Gesture {
  move(p: Point): void;
  end(): void;
}

export interface ToolBehaviour {
  /** The cursor over `p` when no button is pressed. */
  cursor(c: PointerContext, p: Point): string;
  /** A press at `p`: the gesture it starts, or null. */
  start(c: PointerContext, p: Point): Gesture | null;
}

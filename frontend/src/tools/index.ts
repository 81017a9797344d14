/**
 * Every pointer tool's behaviour, by the ids of `TOOLS` (lib/keys.ts): the Record type makes a
 * tool without a behaviour a compile error. Right-drag zooms and middle-drag pans whatever the
 * tool.
 */

import type { Tool } from '../lib/keys';
import { ellipseTool } from './ellipse';
import { angleTool, lengthTool } from './measure';
import { roiTool } from './roi';
import type { ToolBehaviour } from './types';
import { panTool, scrollTool, windowTool, zoomTool } from './view';

export const BEHAVIOURS: Record<Tool, ToolBehaviour> = {
  pan: panTool,
  zoom: zoomTool,
  scroll: scrollTool,
  window: windowTool,
  roi: roiTool,
  ellipse: ellipseTool,
  length: lengthTool,
  angle: angleTool,
};

/** The behaviour a press of `button` (0 left, 1 middle, 2 right) gets with `tool` chosen. */
export function behaviourFor(tool: Tool, button: number): ToolBehaviour | null {
  if (button === 2) return zoomTool;
  if (button === 1) return panTool;
  return button === 0 ? BEHAVIOURS[tool] : null;
}

export type { Gesture, PointerContext, ToolBehaviour } from './types';

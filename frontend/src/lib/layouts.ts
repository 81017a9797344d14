/**
 * Viewport layouts (docs/viewer-ux.md "Layout" radio group): each is a grid of cells, one
 * viewport per cell, numbered row by row. Pure data and maths; the layout manager
 * (`state/layout.svelte.ts`) owns the viewports.
 */

export type LayoutId = '1x1' | '1x2' | '2x1' | '2x2' | 'mpr' | 'hanging' | 'prior';

export interface LayoutDef {
  id: LayoutId;
  /** The accessible name and button label, as in viewer-ux.md. */
  name: string;
  key: string;
  rows: number;
  columns: number;
}

export const LAYOUTS: readonly LayoutDef[] = [
  { id: '1x1', name: '1×1', key: '1', rows: 1, columns: 1 },
  { id: '1x2', name: '1×2', key: '2', rows: 1, columns: 2 },
  { id: '2x1', name: '2×1', key: '3', rows: 2, columns: 1 },
  { id: '2x2', name: '2×2', key: '4', rows: 2, columns: 2 },
  // the acquired plane and its two reformats of one stack (state/mpr.svelte.ts)
  { id: 'mpr', name: 'MPR', key: 'M', rows: 1, columns: 3 },
  // mammography (lib/hanging.ts): R CC | L CC above R MLO | L MLO
  { id: 'hanging', name: 'Hanging', key: 'G', rows: 2, columns: 2 },
  // one view pair of the current study above the prior's (Shift+G, App.svelte)
  { id: 'prior', name: 'Compare with prior', key: 'Shift+G', rows: 2, columns: 2 },
];

export function layoutDef(id: LayoutId): LayoutDef {
  return LAYOUTS.find((l) => l.id === id) ?? LAYOUTS[0];
}

export function cellCount(id: LayoutId): number {
  const l = layoutDef(id);
  return l.rows * l.columns;
}

/**
 * The file each cell shows when a layout opens: the cells that already had one keep it, empty
 * cells take the next open file (tabs order) after the active one that no cell shows yet, else
 * they stay empty (null).
 */
export function fillCells(current: readonly (number | null)[], count: number, tabs: readonly number[], active: number | null): (number | null)[] {
  const out: (number | null)[] = Array.from({ length: count }, (_, i) => current[i] ?? null);
  const shown = new Set(out.filter((f): f is number => f !== null));
  const start = active === null ? 0 : Math.max(0, tabs.indexOf(active));
  const order = [...tabs.slice(start), ...tabs.slice(0, start)];
  const spare = order.filter((f) => !shown.has(f));
  for (let i = 0; i < out.length; i++) {
    if (out[i] === null) out[i] = spare.shift() ?? null;
  }
  return out;
}

/** The cell reached from `index` by an arrow step in a grid of `columns` (clamped to the grid). */
export function neighbour(index: number, count: number, columns: number, dx: number, dy: number): number {
  const rows = Math.ceil(count / columns);
  const r = Math.min(rows - 1, Math.max(0, Math.floor(index / columns) + dy));
  const c = Math.min(columns - 1, Math.max(0, (index % columns) + dx));
  return Math.min(count - 1, r * columns + c);
}

/** The drag-and-drop type of a file dragged from the navigator onto a viewport (its index). */
export const FILE_DRAG = 'application/x-dcmview-file';

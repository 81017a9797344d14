/**
 * The keyboard shortcuts, in one table: the key handler and the shortcut sheet both read it,
 * so they cannot disagree. Names follow docs/viewer-ux.md.
 */

import { LAYOUTS, type LayoutId } from './layouts';

export type Tool = 'pan' | 'zoom' | 'scroll' | 'window' | 'roi' | 'ellipse' | 'length' | 'angle';

export const TOOLS: readonly { id: Tool; name: string; key: string }[] = [
  { id: 'pan', name: 'Pan', key: 'P' },
  { id: 'zoom', name: 'Zoom', key: 'Z' },
  { id: 'scroll', name: 'Scroll', key: 'S' },
  { id: 'window', name: 'Window/Level', key: 'W' },
  { id: 'roi', name: 'ROI', key: 'R' },
  // stats-only regions (tools/ellipse.ts), not saved
  { id: 'ellipse', name: 'Ellipse', key: 'E' },
  // measurements (tools/measure.ts), kept by the server
  { id: 'length', name: 'Length', key: 'L' },
  { id: 'angle', name: 'Angle', key: 'A' },
];

export type Action =
  | { kind: 'tool'; tool: Tool }
  | { kind: 'layout'; layout: LayoutId }
  | { kind: 'frame'; delta: number }
  | { kind: 'cine' }
  | { kind: 'fit' }
  | { kind: 'invert' }
  | { kind: 'flip'; axis: 'h' | 'v' }
  | { kind: 'rotate'; turns: number }
  | { kind: 'help' }
  | { kind: 'delete-roi' }
  | { kind: 'escape' }
  | { kind: 'overlays' };

/** Keys that are not tool letters, each written once (letters match either case). */
const BINDINGS: readonly [readonly string[], Action][] = [
  [['ArrowLeft', '['], { kind: 'frame', delta: -1 }],
  [['ArrowRight', ']'], { kind: 'frame', delta: 1 }],
  [[' '], { kind: 'cine' }],
  [['f'], { kind: 'fit' }],
  [['i'], { kind: 'invert' }],
  [['h'], { kind: 'flip', axis: 'h' }],
  [['v'], { kind: 'flip', axis: 'v' }],
  [[','], { kind: 'rotate', turns: -1 }],
  [['.'], { kind: 'rotate', turns: 1 }],
  [['?'], { kind: 'help' }],
  [['Delete', 'Backspace'], { kind: 'delete-roi' }],
  [['Escape'], { kind: 'escape' }],
  [['o'], { kind: 'overlays' }],
];

const normal = (key: string): string => (key.length === 1 ? key.toLowerCase() : key);

/** Every key → its action; tool letters and layout digits come from `TOOLS` and `LAYOUTS`, so each is written once. */
const KEYMAP: ReadonlyMap<string, Action> = (() => {
  const m = new Map<string, Action>();
  const add = (key: string, a: Action): void => {
    const k = normal(key);
    if (m.has(k)) throw new Error(`key ${key} is bound twice`);
    m.set(k, a);
  };
  for (const t of TOOLS) add(t.key, { kind: 'tool', tool: t.id });
  for (const l of LAYOUTS) add(l.key, { kind: 'layout', layout: l.id });
  for (const [keys, a] of BINDINGS) for (const k of keys) add(k, a);
  return m;
})();

/** The action for a key press, or null. `key` is `KeyboardEvent.key`. */
export function actionForKey(key: string): Action | null {
  return KEYMAP.get(normal(key)) ?? null;
}

/** The shortcut sheet, grouped; each row: what, keys. */
export const SHEET: readonly { group: string; rows: readonly [string, string][] }[] = [
  {
    group: 'Tools',
    rows: TOOLS.map((t) => [t.name, t.key] as [string, string]),
  },
  {
    group: 'Layout',
    rows: LAYOUTS.map((l) => [l.name, l.key] as [string, string]),
  },
  {
    group: 'Frames',
    rows: [
      ['Previous frame', '← or ['],
      ['Next frame', '→ or ]'],
      ['Play / Pause', 'Space'],
      ['Scroll frames', 'Wheel'],
    ],
  },
  {
    group: 'View',
    rows: [
      ['Fit', 'F'],
      ['Reset view', 'Double-click'],
      ['Invert', 'I'],
      ['Show / hide all overlays', 'O'],
      ['Flip horizontal', 'H'],
      ['Flip vertical', 'V'],
      ['Rotate counter-clockwise', ','],
      ['Rotate clockwise', '.'],
      ['Zoom about the pointer', 'Ctrl/Cmd + wheel'],
      ['Zoom', 'Right-drag'],
      ['Pan', 'Middle-drag'],
    ],
  },
  {
    group: 'ROIs',
    rows: [
      ['Draw a box', 'R, then drag'],
      ['Move / resize', 'Drag the box / one of its 8 handles'],
      ['Add a box in the middle (ROI tool)', 'Enter on the image'],
      ['Move the selected box', 'Alt + arrows (Shift: 10 px)'],
      ['Resize the selected box (bottom-right corner)', 'Ctrl + Alt + arrows (Shift: 10 px)'],
      ['Select the previous / next box', '↑ / ↓ in the ROI list'],
      ['Delete ROI', 'Delete or Backspace'],
      ['Deselect', 'Esc'],
    ],
  },
  {
    group: 'Series and MPR',
    rows: [
      ['Open a series as one stack', 'Its row in the Files panel'],
      ['Scroll the slices', 'Wheel, ← →, the slider'],
      ['Move the crosshair (MPR)', 'Click, or drag its lines'],
      ['Region statistics', 'Select an ROI, or draw with Ellipse (E)'],
    ],
  },
  { group: 'Help', rows: [['Keyboard shortcuts', '?']] },
];

/** What the key rules need to know of the focused element (see `controlOf`). */
export interface Control {
  tag: string;
  type: string;
  role: string | null;
  editable: boolean;
  /** A tree row that can be expanded or collapsed (it has `aria-expanded`). */
  expandable: boolean;
  /** It got focus from a pointer press (a click), not from the keyboard. */
  byPointer: boolean;
}

/** The `Control` of an event target, or null when it is not an element. */
export function controlOf(target: EventTarget | null, byPointer: boolean): Control | null {
  if (typeof HTMLElement === 'undefined' || !(target instanceof HTMLElement)) return null;
  return {
    tag: target.tagName,
    type: target instanceof HTMLInputElement ? target.type : '',
    role: target.getAttribute('role'),
    editable: target.isContentEditable,
    expandable: target.hasAttribute('aria-expanded'),
    byPointer,
  };
}

const ARROWS_AND_ENDS = new Set(['ArrowLeft', 'ArrowRight', 'ArrowUp', 'ArrowDown', 'Home', 'End', 'PageUp', 'PageDown']);

/**
 * Whether a key belongs to the focused control rather than to the viewer's shortcuts.
 * Typing in a text field keeps every key. Otherwise a control keeps only the keys it needs to
 * be operated from the keyboard (a slider its arrows, a tree row ↑ ↓ Home End Enter and, on a
 * group row, ← →); Space on a button or checkbox stays the control's only when the keyboard
 * put the focus there, so after a click Space, [ ] and the tool letters work whatever panel
 * was clicked last.
 */
export function keyBelongsToControl(c: Control | null, key: string): boolean {
  if (!c) return false;
  if (c.editable || c.tag === 'TEXTAREA') return true;
  const arrow = ARROWS_AND_ENDS.has(key);
  if (c.tag === 'INPUT') {
    if (c.type === 'range') return arrow;
    if (c.type === 'checkbox' || c.type === 'radio') return key === ' ' && !c.byPointer;
    if (c.type === 'button' || c.type === 'submit' || c.type === 'reset') return key === 'Enter' || (key === ' ' && !c.byPointer);
    return true; // text, search, number…: typing
  }
  if (c.tag === 'SELECT') return c.byPointer ? key === 'ArrowUp' || key === 'ArrowDown' || key === 'Enter' : true;
  if (c.role === 'treeitem') {
    if (key === 'ArrowLeft' || key === 'ArrowRight') return c.expandable;
    return key === 'ArrowUp' || key === 'ArrowDown' || key === 'Home' || key === 'End' || key === 'Enter';
  }
  if (c.role === 'separator') return arrow;
  if (c.tag === 'BUTTON' || c.role === 'radio' || c.role === 'tab' || c.role === 'option' || c.role === 'listbox') {
    if (key === 'Enter') return c.tag === 'BUTTON' || c.role !== null;
    if (key === ' ') return !c.byPointer;
    return c.role !== null && key.startsWith('Arrow');
  }
  return false;
}

/**
 * Remembers whether the focused element got its focus from a pointer press: install once on
 * the document; `byPointer(el)` answers for the element a key event is aimed at.
 */
export class PointerFocus {
  private pressing = false;
  private focused: EventTarget | null = null;

  install(doc: Document): () => void {
    const down = (): void => {
      this.pressing = true;
    };
    const up = (): void => {
      this.pressing = false;
    };
    const focus = (e: FocusEvent): void => {
      this.focused = this.pressing ? e.target : null;
    };
    doc.addEventListener('pointerdown', down, true);
    doc.addEventListener('pointerup', up, true);
    doc.addEventListener('pointercancel', up, true);
    doc.addEventListener('focusin', focus, true);
    return () => {
      doc.removeEventListener('pointerdown', down, true);
      doc.removeEventListener('pointerup', up, true);
      doc.removeEventListener('pointercancel', up, true);
      doc.removeEventListener('focusin', focus, true);
    };
  }

  byPointer(target: EventTarget | null): boolean {
    return target !== null && target === this.focused;
  }
}

/** The pixel step of Alt+arrow on the selected ROI (Shift: 10 px), or null for other keys. */
export function roiNudge(e: Pick<KeyboardEvent, 'key' | 'altKey' | 'shiftKey' | 'ctrlKey' | 'metaKey'>): { dx: number; dy: number } | null {
  if (!e.altKey || e.ctrlKey || e.metaKey) return null;
  const step = e.shiftKey ? 10 : 1;
  switch (e.key) {
    case 'ArrowLeft':
      return { dx: -step, dy: 0 };
    case 'ArrowRight':
      return { dx: step, dy: 0 };
    case 'ArrowUp':
      return { dx: 0, dy: -step };
    case 'ArrowDown':
      return { dx: 0, dy: step };
    default:
      return null;
  }
}

/**
 * The resize step of Ctrl+Alt+arrow on the selected ROI (Shift: 10 px), or null for other keys:
 * the bottom-right corner moves, so → and ↓ grow the box, ← and ↑ shrink it. (Shift+Alt is
 * already the 10-px move; Ctrl marks the resize.)
 */
export function roiGrow(e: Pick<KeyboardEvent, 'key' | 'altKey' | 'shiftKey' | 'ctrlKey' | 'metaKey'>): { dx: number; dy: number } | null {
  if (!e.altKey || !e.ctrlKey || e.metaKey) return null;
  return roiNudge({ key: e.key, altKey: true, shiftKey: e.shiftKey, ctrlKey: false, metaKey: false });
}

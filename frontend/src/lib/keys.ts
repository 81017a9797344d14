/**
 * The keyboard shortcuts, in one table: the key handler and the shortcut sheet both read it,
 * so they cannot disagree. Names follow docs/viewer-ux.md.
 */

export type Tool = 'pan' | 'zoom' | 'scroll' | 'window' | 'roi';

export const TOOLS: readonly { id: Tool; name: string; key: string }[] = [
  { id: 'pan', name: 'Pan', key: 'P' },
  { id: 'zoom', name: 'Zoom', key: 'Z' },
  { id: 'scroll', name: 'Scroll', key: 'S' },
  { id: 'window', name: 'Window/Level', key: 'W' },
  { id: 'roi', name: 'ROI', key: 'R' },
];

export type Action =
  | { kind: 'tool'; tool: Tool }
  | { kind: 'frame'; delta: number }
  | { kind: 'cine' }
  | { kind: 'fit' }
  | { kind: 'invert' }
  | { kind: 'flip'; axis: 'h' | 'v' }
  | { kind: 'rotate'; turns: number }
  | { kind: 'help' }
  | { kind: 'delete-roi' }
  | { kind: 'escape' };

/** The action for a key press, or null. `key` is `KeyboardEvent.key`. */
export function actionForKey(key: string): Action | null {
  switch (key) {
    case 'p':
    case 'P':
      return { kind: 'tool', tool: 'pan' };
    case 'z':
    case 'Z':
      return { kind: 'tool', tool: 'zoom' };
    case 's':
    case 'S':
      return { kind: 'tool', tool: 'scroll' };
    case 'w':
    case 'W':
      return { kind: 'tool', tool: 'window' };
    case 'r':
    case 'R':
      return { kind: 'tool', tool: 'roi' };
    case 'ArrowLeft':
    case '[':
      return { kind: 'frame', delta: -1 };
    case 'ArrowRight':
    case ']':
      return { kind: 'frame', delta: 1 };
    case ' ':
      return { kind: 'cine' };
    case 'f':
    case 'F':
      return { kind: 'fit' };
    case 'i':
    case 'I':
      return { kind: 'invert' };
    case 'h':
    case 'H':
      return { kind: 'flip', axis: 'h' };
    case 'v':
    case 'V':
      return { kind: 'flip', axis: 'v' };
    case ',':
      return { kind: 'rotate', turns: -1 };
    case '.':
      return { kind: 'rotate', turns: 1 };
    case '?':
      return { kind: 'help' };
    case 'Delete':
    case 'Backspace':
      return { kind: 'delete-roi' };
    case 'Escape':
      return { kind: 'escape' };
    default:
      return null;
  }
}

/** The shortcut sheet, grouped; each row: what, keys. */
export const SHEET: readonly { group: string; rows: readonly [string, string][] }[] = [
  {
    group: 'Tools',
    rows: TOOLS.map((t) => [t.name, t.key] as [string, string]),
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
  { group: 'Help', rows: [['Keyboard shortcuts', '?']] },
];

/** Whether a key event aimed at `target` belongs to that control rather than the viewer. */
export function keyBelongsToControl(target: EventTarget | null, key: string): boolean {
  if (!(target instanceof HTMLElement)) return false;
  if (target.isContentEditable) return true;
  const tag = target.tagName;
  if (tag === 'TEXTAREA' || tag === 'SELECT') return true;
  if (tag === 'INPUT') {
    const type = (target as HTMLInputElement).type;
    if (type === 'range') return key.startsWith('Arrow') || key === 'Home' || key === 'End' || key === 'PageUp' || key === 'PageDown';
    if (type === 'checkbox' || type === 'radio') return key === ' ';
    return true;
  }
  if (tag === 'BUTTON' || target.getAttribute('role') === 'radio' || target.getAttribute('role') === 'tab') {
    return key === ' ' || key === 'Enter' || (target.getAttribute('role') !== null && key.startsWith('Arrow'));
  }
  if (target.getAttribute('role') === 'treeitem' || target.getAttribute('role') === 'separator') {
    return key.startsWith('Arrow') || key === 'Enter' || key === ' ' || key === 'Home' || key === 'End';
  }
  return false;
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

import { describe, expect, it } from 'vitest';
import { SHEET, TOOLS, actionForKey, keyBelongsToControl, roiGrow, roiNudge, type Control } from './keys';

describe('shortcuts', () => {
  it('maps the tool letters of viewer-ux.md', () => {
    expect(TOOLS.map((t) => `${t.name}=${t.key}`).join(' ')).toBe('Pan=P Zoom=Z Scroll=S Window/Level=W ROI=R Ellipse=E Length=L Angle=A');
    for (const t of TOOLS) expect(actionForKey(t.key.toLowerCase())).toEqual({ kind: 'tool', tool: t.id });
  });
  it('maps frames, cine, view and ROI keys', () => {
    expect(actionForKey('[')).toEqual({ kind: 'frame', delta: -1 });
    expect(actionForKey('ArrowRight')).toEqual({ kind: 'frame', delta: 1 });
    expect(actionForKey(' ')).toEqual({ kind: 'cine' });
    expect(actionForKey(',')).toEqual({ kind: 'rotate', turns: -1 });
    expect(actionForKey('.')).toEqual({ kind: 'rotate', turns: 1 });
    expect(actionForKey('Backspace')).toEqual({ kind: 'delete-roi' });
    expect(actionForKey('x')).toBeNull();
  });
  it('lists every key binding on the sheet', () => {
    const text = JSON.stringify(SHEET);
    for (const word of ['Fit', 'Invert', 'Flip horizontal', 'Rotate clockwise', 'Keyboard shortcuts', 'Play / Pause']) {
      expect(text).toContain(word);
    }
  });
});

describe('roiNudge', () => {
  const k = (key: string, altKey = true, shiftKey = false) => ({ key, altKey, shiftKey, ctrlKey: false, metaKey: false });
  it('moves by one pixel, ten with Shift, only with Alt', () => {
    expect(roiNudge(k('ArrowLeft'))).toEqual({ dx: -1, dy: 0 });
    expect(roiNudge(k('ArrowDown', true, true))).toEqual({ dx: 0, dy: 10 });
    expect(roiNudge(k('ArrowDown', false))).toBeNull();
    expect(roiNudge(k('x'))).toBeNull();
  });
});

describe('roiGrow', () => {
  const k = (key: string, mods: { alt?: boolean; ctrl?: boolean; shift?: boolean; meta?: boolean } = {}) => ({
    key,
    altKey: mods.alt ?? true,
    ctrlKey: mods.ctrl ?? true,
    shiftKey: mods.shift ?? false,
    metaKey: mods.meta ?? false,
  });
  it('moves the bottom-right corner with Ctrl+Alt (Shift: 10 px), and never clashes with the move', () => {
    expect(roiGrow(k('ArrowRight'))).toEqual({ dx: 1, dy: 0 });
    expect(roiGrow(k('ArrowUp', { shift: true }))).toEqual({ dx: 0, dy: -10 });
    expect(roiGrow(k('ArrowRight', { ctrl: false }))).toBeNull();
    expect(roiGrow(k('ArrowRight', { alt: false }))).toBeNull();
    expect(roiGrow(k('Enter'))).toBeNull();
    // Alt+arrows (with or without Shift) stay a move, Ctrl+Alt+arrows are not one
    expect(roiNudge(k('ArrowRight', { ctrl: false, shift: true }))).toEqual({ dx: 10, dy: 0 });
    expect(roiNudge(k('ArrowRight'))).toBeNull();
  });
  it('is on the shortcut sheet', () => {
    expect(JSON.stringify(SHEET)).toContain('Ctrl + Alt + arrows');
  });
});

describe('keymap', () => {
  it('derives tool letters (either case) and layout digits from their tables', () => {
    for (const t of TOOLS) expect(actionForKey(t.key.toUpperCase())).toEqual({ kind: 'tool', tool: t.id });
    expect(actionForKey('4')).toEqual({ kind: 'layout', layout: '2x2' });
    expect(actionForKey('1')).toEqual({ kind: 'layout', layout: '1x1' });
    expect(JSON.stringify(SHEET)).toContain('2×2');
  });
});

describe('keyBelongsToControl', () => {
  const c = (over: Partial<Control>): Control => ({ tag: 'DIV', type: '', role: null, editable: false, expandable: false, byPointer: false, ...over });
  it('keeps every key while typing in a text field', () => {
    for (const key of ['a', ' ', '[', 'ArrowLeft']) {
      expect(keyBelongsToControl(c({ tag: 'INPUT', type: 'search' }), key)).toBe(true);
      expect(keyBelongsToControl(c({ tag: 'INPUT', type: 'search', byPointer: true }), key)).toBe(true);
    }
    expect(keyBelongsToControl(c({ tag: 'TEXTAREA' }), 'w')).toBe(true);
  });
  it('gives ← → to the viewer on a file row of the tree, to the tree on a group row', () => {
    const file = c({ role: 'treeitem', byPointer: true });
    expect(keyBelongsToControl(file, 'ArrowRight')).toBe(false);
    expect(keyBelongsToControl(file, 'ArrowLeft')).toBe(false);
    expect(keyBelongsToControl(file, 'ArrowDown')).toBe(true);
    expect(keyBelongsToControl(file, 'Enter')).toBe(true);
    expect(keyBelongsToControl(file, ' ')).toBe(false);
    expect(keyBelongsToControl(file, 'w')).toBe(false);
    expect(keyBelongsToControl(c({ role: 'treeitem', expandable: true }), 'ArrowRight')).toBe(true);
  });
  it('gives Space, [ ] and letters to the viewer after a click, Space to a button reached by keyboard', () => {
    expect(keyBelongsToControl(c({ tag: 'BUTTON', byPointer: true }), ' ')).toBe(false);
    expect(keyBelongsToControl(c({ tag: 'BUTTON' }), ' ')).toBe(true);
    expect(keyBelongsToControl(c({ tag: 'BUTTON' }), ']')).toBe(false);
    expect(keyBelongsToControl(c({ tag: 'INPUT', type: 'checkbox', byPointer: true }), ' ')).toBe(false);
    expect(keyBelongsToControl(c({ tag: 'SELECT', byPointer: true }), 'w')).toBe(false);
    expect(keyBelongsToControl(c({ tag: 'SELECT' }), 'w')).toBe(true);
    expect(keyBelongsToControl(c({ tag: 'INPUT', type: 'range', byPointer: true }), 'ArrowLeft')).toBe(true);
    expect(keyBelongsToControl(c({ tag: 'INPUT', type: 'range', byPointer: true }), ' ')).toBe(false);
    expect(keyBelongsToControl(c({ role: 'separator' }), 'ArrowLeft')).toBe(true);
    expect(keyBelongsToControl(null, ' ')).toBe(false);
  });
});

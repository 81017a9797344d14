import { describe, expect, it } from 'vitest';
import { SHEET, TOOLS, actionForKey, roiNudge } from './keys';

describe('shortcuts', () => {
  it('maps the tool letters of viewer-ux.md', () => {
    expect(TOOLS.map((t) => `${t.name}=${t.key}`).join(' ')).toBe('Pan=P Zoom=Z Scroll=S Window/Level=W ROI=R');
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

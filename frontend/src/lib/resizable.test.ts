import { describe, expect, it } from 'vitest';
import { dragResize, keyResize } from './resizable';

describe('resizable', () => {
  const p = { value: 250, min: 180, max: 640, onchange: () => {} };
  it('steps by key, bigger with Shift, clamped, reversed for right-hand panels', () => {
    expect(keyResize(p, 'ArrowRight', false)).toBe(260);
    expect(keyResize(p, 'ArrowLeft', true)).toBe(210);
    expect(keyResize({ ...p, value: 185 }, 'ArrowLeft', false)).toBe(180);
    expect(keyResize({ ...p, sign: -1, step: 20 }, 'ArrowRight', false)).toBe(230);
    expect(keyResize(p, 'Enter', false)).toBeNull();
  });
  it('follows a drag from its start', () => {
    expect(dragResize(p, 250, 30)).toBe(280);
    expect(dragResize({ ...p, sign: -1 }, 250, 30)).toBe(220);
    expect(dragResize(p, 250, 1000)).toBe(640);
  });
});

import { describe, expect, it } from 'vitest';
import { linkedFrame, linkedZoom } from './linking';

describe('linking', () => {
  it('follows the frame by index, clamped', () => {
    expect(linkedFrame(3, 12)).toBe(3);
    expect(linkedFrame(11, 4)).toBe(3);
    expect(linkedFrame(0, 1)).toBe(0);
  });
  it('keeps the physical scale when pixel spacings differ', () => {
    // 0.5 mm pixels at zoom 2 = 4 screen px per mm; 0.25 mm pixels need zoom 1 for the same
    expect(linkedZoom(2, 0.5, 0.25)).toBe(1);
    expect(linkedZoom(2, null, 0.25)).toBe(2);
    expect(linkedZoom(1.5, 0.3, 0.3)).toBe(1.5);
  });
});

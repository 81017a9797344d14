import { describe, expect, it } from 'vitest';
import { decodeReading, encodeReading } from './fragment';

describe('reading in the fragment', () => {
  it('round-trips layout, files and the active viewport, keeping other fields', () => {
    const h = encodeReading('#token=abc', { layout: '2x2', files: [3, null, 5, 7], active: 2 });
    expect(h).toBe('token=abc&layout=2x2&files=3,,5,7&active=2');
    expect(decodeReading('#' + h)).toEqual({ layout: '2x2', files: [3, null, 5, 7], active: 2 });
    expect(encodeReading(h, { layout: '1x1', files: [4], active: 0 })).toBe('token=abc&layout=1x1&files=4&active=0');
  });
  it('ignores what it does not understand', () => {
    expect(decodeReading('')).toBeNull();
    expect(decodeReading('#layout=9x9')).toBeNull();
    expect(decodeReading('#layout=1x2&files=x,2&active=7')).toEqual({ layout: '1x2', files: [null, 2], active: 0 });
  });
});

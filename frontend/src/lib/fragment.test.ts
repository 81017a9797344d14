import { describe, expect, it } from 'vitest';
import { decodeReading, encodeReading } from './fragment';

const plain = { stacks: [null, null, null, null], positions: [0, 0, 0, 0] };

describe('reading in the fragment', () => {
  it('round-trips layout, files and the active viewport, keeping other fields', () => {
    const h = encodeReading('#token=abc', { layout: '2x2', files: [3, null, 5, 7], active: 2 });
    expect(h).toBe('token=abc&layout=2x2&files=3,,5,7&active=2');
    expect(decodeReading('#' + h)).toEqual({ layout: '2x2', files: [3, null, 5, 7], active: 2, ...plain });
    expect(encodeReading(h, { layout: '1x1', files: [4], active: 0 })).toBe('token=abc&layout=1x1&files=4&active=0');
  });
  it('keeps the stacks, positions and the link toggle (MPR, stacks, hangings)', () => {
    const mpr = { layout: 'mpr' as const, files: [3, 3, 3], stacks: ['s2', 's2', 's2'], positions: [12, 24, 31], active: 1, link: false };
    const h = encodeReading('', mpr);
    expect(h).toBe('layout=mpr&files=3,3,3&stacks=s2,s2,s2&pos=12,24,31&active=1&link=0');
    expect(decodeReading(h)).toEqual(mpr);
    const hang = { layout: 'hanging' as const, files: [0, 1, 2, null], stacks: [null, null, null, null], positions: [4, 8, 0, 0], active: 0, link: true };
    expect(decodeReading(encodeReading('#token=t', hang))).toEqual(hang);
    expect(decodeReading('#layout=prior&files=1,2,3,4&active=3')?.layout).toBe('prior');
    // a stack in one cell of a grid, a plain file in the other
    expect(decodeReading('layout=1x2&files=5,9&stacks=s7,&pos=3&active=0')).toEqual({
      layout: '1x2',
      files: [5, 9],
      stacks: ['s7', null],
      positions: [3, 0],
      active: 0,
    });
  });
  it('ignores what it does not understand', () => {
    expect(decodeReading('')).toBeNull();
    expect(decodeReading('#layout=9x9')).toBeNull();
    expect(decodeReading('#layout=1x2&files=x,2&active=7&stacks=a b,<x>&pos=-1,1e3&link=yes')).toEqual({
      layout: '1x2',
      files: [null, 2],
      active: 0,
      stacks: [null, null],
      positions: [0, 0],
    });
  });
});

import { describe, expect, it } from 'vitest';
import { LAYOUTS, cellCount, fillCells, layoutDef, neighbour } from './layouts';

describe('layouts', () => {
  it('names and keys follow viewer-ux.md', () => {
    expect(LAYOUTS.map((l) => `${l.name}=${l.key}`).join(' ')).toBe('1×1=1 1×2=2 2×1=3 2×2=4 MPR=M Hanging=G Compare with prior=Shift+G');
    expect(cellCount('2x2')).toBe(4);
    expect(cellCount('1x2')).toBe(2);
    expect(layoutDef('2x1')).toMatchObject({ rows: 2, columns: 1 });
  });
  it('fills empty cells with open files not shown yet, starting at the active one', () => {
    expect(fillCells([3], 4, [1, 2, 3, 4], 3)).toEqual([3, 4, 1, 2]);
    expect(fillCells([3, null], 4, [3], 3)).toEqual([3, null, null, null]);
    expect(fillCells([null], 1, [], null)).toEqual([null]);
    expect(fillCells([5, 6, 7, 8], 2, [5, 6, 7, 8], 5)).toEqual([5, 6]);
  });
  it('steps between cells', () => {
    expect(neighbour(0, 4, 2, 1, 0)).toBe(1);
    expect(neighbour(1, 4, 2, 0, 1)).toBe(3);
    expect(neighbour(3, 4, 2, 1, 1)).toBe(3);
    expect(neighbour(0, 2, 1, 0, 1)).toBe(1);
  });
});

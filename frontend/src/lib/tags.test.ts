import { describe, expect, it } from 'vitest';
import type { TagNode } from './api';
import { TAG_ROW_HEIGHT, TAG_VIRTUAL_FROM, copyText, displayKeyword, formatValue, mergePage, tagRows, tagWindow } from './tags';

const s = (tag: string, keyword: string, value: string, vr = 'LO'): TagNode => ({
  tag,
  vr,
  keyword,
  value: { type: 'string', value },
});

const tree: TagNode[] = [
  s('(0008,0060)', 'Modality', 'MG', 'CS'),
  { tag: '(0028,0030)', vr: 'DS', keyword: 'PixelSpacing', value: { type: 'numbers', value: [0.1, 0.1] } },
  {
    tag: '(0008,1140)',
    vr: 'SQ',
    keyword: 'ReferencedImageSequence',
    value: {
      type: 'sequence',
      items: [[s('(0008,1155)', 'ReferencedSOPInstanceUID', '1.2.3', 'UI')], [s('(0008,1155)', 'ReferencedSOPInstanceUID', '9.9', 'UI')]],
      truncated: true,
      total: 3,
    },
  },
  { tag: '(7FE0,0010)', vr: 'OW', keyword: 'PixelData', value: { type: 'binary', length: 2048 } },
];

describe('formatting', () => {
  it('shows binary as [VR · N bytes] and counts sequence items', () => {
    expect(formatValue(tree[3])).toBe('[OW · 2048 bytes]');
    expect(formatValue(tree[2])).toBe('3 items');
    expect(formatValue(tree[1])).toBe('0.1\\0.1');
  });
  it('copies (gggg,eeee) Keyword = value', () => {
    expect(copyText(tree[0])).toBe('(0008,0060) Modality = MG');
  });
});

describe('tagRows', () => {
  it('keeps sequences closed until opened, then pages', () => {
    expect(tagRows(tree, new Set(), '').length).toBe(4);
    const rows = tagRows(tree, new Set(['(0008,1140)']), '');
    expect(rows.map((r) => r.kind)).toEqual(['tag', 'tag', 'tag', 'item', 'tag', 'item', 'tag', 'more', 'tag']);
    expect(rows[4]).toMatchObject({ id: '(0008,1140)/0/(0008,1155)', depth: 2 });
    expect(rows[7]).toMatchObject({ kind: 'more', loaded: 2, total: 3 });
  });
  it('filters by keyword, tag, VR and value, opening sequences with inner matches', () => {
    expect(tagRows(tree, new Set(), 'modal').map((r) => r.id)).toEqual(['(0008,0060)']);
    expect(tagRows(tree, new Set(), '7fe0').map((r) => r.id)).toEqual(['(7FE0,0010)']);
    expect(tagRows(tree, new Set(), 'cs').map((r) => r.id)).toEqual(['(0008,0060)']);
    const inner = tagRows(tree, new Set(), '9.9');
    expect(inner.map((r) => r.id)).toEqual(['(0008,1140)', '(0008,1140)/1', '(0008,1140)/1/(0008,1155)', '(0008,1140)/+']);
  });
});

describe('mergePage', () => {
  it('appends fetched items to the sequence at a path', () => {
    const page: TagNode = {
      ...tree[2],
      value: { type: 'sequence', items: [[s('(0008,1155)', 'ReferencedSOPInstanceUID', '7.7', 'UI')]], total: 3 },
    };
    const merged = mergePage(tree, '(0008,1140)', page);
    const v = merged[2].value;
    expect(v.type === 'sequence' && v.items.length).toBe(3);
    expect(v.type === 'sequence' && v.truncated).toBe(false);
    expect(tree[2].value.type === 'sequence' && tree[2].value.items.length).toBe(2);
  });
});

describe('tagWindow', () => {
  it('renders the rows in view plus an overscan, clamped to the list', () => {
    expect(tagWindow(0, 0, 500)).toEqual([0, 0]);
    expect(tagWindow(5000, 0, 220, 22, 10)).toEqual([0, 20]);
    expect(tagWindow(5000, -30, 220, 22, 10)).toEqual([0, 20]);
    expect(tagWindow(5000, 22 * 1000, 220, 22, 10)).toEqual([990, 1020]);
    expect(tagWindow(5000, 22 * 4995, 220, 22, 10)).toEqual([4985, 5000]);
    expect(tagWindow(1000, 22 * 2000, 220, 22, 10)).toEqual([1000, 1000]);
    expect(tagWindow(1000, 0, 10 * TAG_ROW_HEIGHT, undefined, 0)).toEqual([0, 10]);
  });
  it('renders short lists whole', () => {
    expect(tagWindow(TAG_VIRTUAL_FROM, 0, 220)).toEqual([0, TAG_VIRTUAL_FROM]);
    expect(tagWindow(30, 22 * 100, 220)).toEqual([0, 30]);
    expect(tagWindow(TAG_VIRTUAL_FROM + 1, 0, 220, 22, 10)).toEqual([0, 20]);
  });
});

describe('group length', () => {
  it('names (gggg,0000) GroupLength when the dictionary gives no keyword', () => {
    const node = { tag: '(0009,0000)', vr: 'UL', keyword: '', value: { type: 'number' as const, value: 12 } };
    expect(displayKeyword(node)).toBe('GroupLength');
    expect(copyText(node)).toBe('(0009,0000) GroupLength = 12');
    expect(displayKeyword({ ...node, tag: '(0009,0010)' })).toBe('Unknown');
    expect(displayKeyword({ ...node, keyword: 'FileMetaInformationGroupLength' })).toBe('FileMetaInformationGroupLength');
  });
});

import { describe, expect, it } from 'vitest';
import type { FileEntry, Stack } from './api';
import { parseFilter } from './filter';
import { buildTree, filterTree, flatten, rowOffsets, sliceCount, visibleRange } from './hierarchy';

let next = 0;
function file(p: Partial<FileEntry>): FileEntry {
  const index = next++;
  return {
    index,
    path: `/d/f${index}.dcm`,
    label: `f${index}`,
    has_pixels: true,
    frame_count: 1,
    rows: 8,
    columns: 8,
    transfer_syntax_uid: '1.2.840.10008.1.2.1',
    photometric_interpretation: 'MONOCHROME2',
    modality: 'CT',
    patient_id: 'P1',
    study_instance_uid: '1.1',
    study_date: '20240101',
    study_description: 'Head',
    series_instance_uid: '1.1.1',
    series_number: 1,
    series_description: 'Axial',
    instance_number: null,
    default_window: null,
    support_state: 'renderable',
    support_reason: null,
    ...p,
  };
}

const files = [
  file({ instance_number: 2 }),
  file({ instance_number: 1 }),
  file({ series_instance_uid: '1.1.2', series_number: 2, series_description: 'Coronal' }),
  file({ patient_id: 'P0', study_instance_uid: '2.1', series_instance_uid: '2.1.1', modality: 'MR' }),
  file({ patient_id: null, study_instance_uid: null, series_instance_uid: null }),
];

describe('buildTree', () => {
  it('groups, counts and sorts every level', () => {
    const tree = buildTree(files);
    expect(tree.map((p) => p.label)).toEqual(['P0', 'P1', 'No patient ID']);
    const p1 = tree[1];
    expect(p1.count).toBe(3);
    expect(p1.children[0].children.map((s) => [s.label, s.count])).toEqual([
      ['Axial', 2],
      ['Coronal', 1],
    ]);
    expect(p1.children[0].children[0].files.map((f) => f.instance_number)).toEqual([1, 2]);
  });
});

describe('series rows from stacks', () => {
  const stack = (id: string, label: string, slices: [number, number][]): Stack => ({
    id,
    label,
    series_instance_uid: '1.1.1',
    study_instance_uid: '1.1',
    patient_id: 'P1',
    modality: 'CT',
    slice_count: slices.length,
    slices,
    volume: null,
  });
  const a = file({ series_instance_uid: '9.1', instance_number: 1 });
  const b = file({ series_instance_uid: '9.1', instance_number: 2 });
  const loc = file({ series_instance_uid: '9.1', instance_number: 3, rows: 4 });
  const seg = file({ series_instance_uid: '9.1', instance_number: 4, has_pixels: false, support_state: 'metadata_only' });
  const list = [a, b, loc, seg];

  it('a series row per stack, files in slice order, its slice count; files in no stack keep a row', () => {
    const stacks = [stack('s0', 'P1 · CT · Axial', [[b.index, 0], [a.index, 0]]), stack('s1', 'P1 · CT · Axial (2)', [[loc.index, 0]])];
    const series = buildTree(list, stacks)[0].children[0].children;
    expect(series.map((g) => [g.label, g.detail, g.stack?.id ?? null, g.files.map((f) => f.index)])).toEqual([
      ['Axial', '#1 CT · 2 slices', 's0', [b.index, a.index]],
      ['Axial (2)', '#1 CT · 1 slice', 's1', [loc.index]],
      ['Axial', '#1 CT', null, [seg.index]],
    ]);
    const rows = flatten(buildTree(list, stacks), new Set());
    const row = rows.find((r) => r.stack?.id === 's0');
    expect(row).toMatchObject({ level: 'series', label: 'Axial', count: 2 });
    // its instances stay listed under it
    expect(rows[rows.indexOf(row!) + 1]).toMatchObject({ level: 'instance', file: b });
    expect(sliceCount(120)).toBe('120 slices');
  });

  it('without stacks (not fetched yet) the series rows are as before', () => {
    const series = buildTree(list)[0].children[0].children;
    expect(series.map((g) => [g.label, g.count, g.stack ?? null])).toEqual([['Axial', 4, null]]);
  });
});

describe('flatten', () => {
  it('lists rows depth-first and hides collapsed children', () => {
    const tree = buildTree(files);
    const rows = flatten(tree, new Set());
    expect(rows.length).toBe(3 + 3 + 4 + 5); // patients, studies, series, instances
    expect(rows[0]).toMatchObject({ level: 'patient', depth: 0, count: 1, childCount: 1 });
    const p1 = rows.find((r) => r.label === 'P1');
    const collapsed = flatten(tree, new Set([p1!.id]));
    expect(collapsed.length).toBe(rows.length - 1 - 2 - 3);
  });
  it('applies the filter to instances and prunes empty groups', () => {
    const tree = filterTree(buildTree(files), parseFilter('modality:mr'));
    const rows = flatten(tree, new Set());
    expect(rows.map((r) => r.level)).toEqual(['patient', 'study', 'series', 'instance']);
    expect(rows[0].label).toBe('P0');
  });
});

describe('virtualisation', () => {
  it('finds the rows in a scroll window', () => {
    const many = Array.from({ length: 10000 }, (_, i) => file({ instance_number: i }));
    const rows = flatten(buildTree(many), new Set());
    const offsets = rowOffsets(rows);
    expect(offsets[rows.length]).toBe(3 * 30 + 10000 * 48);
    const [start, end] = visibleRange(offsets, 90 + 48 * 100, 480, 0);
    expect(start).toBe(103);
    expect(end).toBe(113);
  });
});

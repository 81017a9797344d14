import { describe, expect, it } from 'vitest';
import type { FileEntry } from './api';
import { parseFilter } from './filter';
import { buildTree, filterTree, flatten, rowOffsets, visibleRange } from './hierarchy';

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

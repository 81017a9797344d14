import { describe, expect, it } from 'vitest';
import type { FileEntry } from './api';
import { matches, parseFilter } from './filter';

function file(p: Partial<FileEntry>): FileEntry {
  return {
    index: 0,
    path: '/data/a.dcm',
    label: 'a.dcm',
    has_pixels: true,
    frame_count: 1,
    rows: 1,
    columns: 1,
    transfer_syntax_uid: '1.2.840.10008.1.2.1',
    photometric_interpretation: 'MONOCHROME2',
    modality: null,
    patient_id: null,
    study_instance_uid: null,
    study_date: null,
    study_description: null,
    series_instance_uid: null,
    series_number: null,
    series_description: null,
    default_window: null,
    support_state: 'renderable',
    support_reason: null,
    ...p,
  };
}

describe('parseFilter', () => {
  it('splits fields, quotes and free text', () => {
    expect(parseFilter('  Patient:P01 study:"chest ct" knee modality:mr  ')).toEqual([
      { field: 'patient', value: 'p01' },
      { field: 'study', value: 'chest ct' },
      { field: null, value: 'knee' },
      { field: 'modality', value: 'mr' },
    ]);
  });
  it('keeps unknown prefixes as free text and drops empty values', () => {
    expect(parseFilter('foo:bar series:')).toEqual([{ field: null, value: 'foo:bar' }]);
    expect(parseFilter('')).toEqual([]);
  });
});

describe('matches', () => {
  const f = file({
    patient_id: 'P01',
    modality: 'CT',
    study_description: 'Chest CT',
    series_description: 'Lung 1mm',
    series_number: 3,
    path: '/data/case7/img.dcm',
  });
  it('ANDs terms over their fields', () => {
    expect(matches(f, parseFilter('patient:p0 modality:ct'))).toBe(true);
    expect(matches(f, parseFilter('patient:p0 modality:mr'))).toBe(false);
    expect(matches(f, parseFilter('series:3 study:chest'))).toBe(true);
    expect(matches(f, parseFilter('case7'))).toBe(true);
    expect(matches(f, parseFilter('case8'))).toBe(false);
  });
  it('matches modality by prefix only', () => {
    expect(matches(file({ modality: 'MG' }), parseFilter('modality:g'))).toBe(false);
  });
});

/**
 * The navigator's filter box: free text plus `patient:`, `study:`, `series:` and `modality:`
 * fields. Terms are ANDed, case-insensitive substring matches; values with spaces are quoted
 * (`study:"chest ct"`). An unknown `word:` is free text.
 */

import type { FileEntry } from './api';

export type Field = 'patient' | 'study' | 'series' | 'modality';
export const FIELDS: readonly Field[] = ['patient', 'study', 'series', 'modality'];

export interface Term {
  field: Field | null;
  value: string;
}

/** Split the filter text into terms (quotes group words; empty values are dropped). */
export function parseFilter(text: string): Term[] {
  const terms: Term[] = [];
  const re = /(?:(\w+):)?(?:"([^"]*)"?|(\S*))/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) {
    if (m[0] === '') {
      re.lastIndex++;
      continue;
    }
    const prefix = m[1]?.toLowerCase();
    const raw = (m[2] ?? m[3] ?? '').trim();
    if (prefix && (FIELDS as readonly string[]).includes(prefix)) {
      if (raw) terms.push({ field: prefix as Field, value: raw.toLowerCase() });
    } else {
      const v = (prefix ? `${m[1]}:` : '') + raw;
      if (v) terms.push({ field: null, value: v.toLowerCase() });
    }
  }
  return terms;
}

function has(hay: (string | number | null | undefined)[], needle: string): boolean {
  return hay.some((h) => h !== null && h !== undefined && String(h).toLowerCase().includes(needle));
}

function matchTerm(f: FileEntry, t: Term): boolean {
  switch (t.field) {
    case 'patient':
      return has([f.patient_id, f.patient_name], t.value);
    case 'study':
      return has([f.study_description, f.study_date, f.study_instance_uid], t.value);
    case 'series':
      return has([f.series_description, f.series_number, f.series_instance_uid], t.value);
    case 'modality':
      return (f.modality ?? '').toLowerCase().startsWith(t.value);
    default:
      return has(
        [
          f.label,
          f.path,
          f.patient_id,
          f.patient_name,
          f.modality,
          f.study_description,
          f.study_date,
          f.series_description,
        ],
        t.value,
      );
  }
}

/** Whether a file passes every term. */
export function matches(f: FileEntry, terms: Term[]): boolean {
  return terms.every((t) => matchTerm(f, t));
}

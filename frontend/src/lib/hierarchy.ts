/**
 * The navigator's tree, Patient → Study → Series → Instance, built from the flat file list,
 * and flattened into the rows a virtualised list shows. When the server's stacks are known, a
 * series has one row per stack (a series split by shape or orientation has several), which
 * opens the stack as one image and says its slice count; its instances stay listed under it.
 */

import type { FileEntry, Stack } from './api';
import { matches, type Term } from './filter';

export type Level = 'patient' | 'study' | 'series' | 'instance';

export interface Group {
  level: Exclude<Level, 'instance'>;
  key: string;
  label: string;
  detail: string;
  children: Group[];
  files: FileEntry[];
  /** Instances below this node. */
  count: number;
  /** The stack this series row opens (series level only). */
  stack?: Stack | null;
}

export interface Row {
  level: Level;
  /** Unique across the tree: the path of group keys (or `file:<index>`). */
  id: string;
  depth: number;
  label: string;
  detail: string;
  count: number;
  /** Number of child groups (studies of a patient, series of a study). */
  childCount: number;
  expanded: boolean;
  file: FileEntry | null;
  /** A series row that opens a stack. */
  stack: Stack | null;
}

const NONE = '\u2014';

function cmp(a: string | number | null | undefined, b: string | number | null | undefined): number {
  if (a === b) return 0;
  if (a === null || a === undefined) return 1;
  if (b === null || b === undefined) return -1;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return String(a).localeCompare(String(b), undefined, { numeric: true });
}

function formatDate(d: string | null): string {
  return d && /^\d{8}$/.test(d) ? `${d.slice(0, 4)}-${d.slice(4, 6)}-${d.slice(6)}` : (d ?? '');
}

/** "120 slices" */
export function sliceCount(n: number): string {
  return `${n} slice${n === 1 ? '' : 's'}`;
}

/**
 * A series' rows: one per stack holding its files (in slice order, the stack's " (2)" suffix
 * kept), then, if some files are in no stack (no pixels, SEG…), a row of those as before.
 */
function seriesGroups(key: string, list: FileEntry[], stackOf: ReadonlyMap<number, Stack>): Group[] {
  const f0 = list[0];
  const label = f0.series_description || (f0.series_number !== null ? `Series ${f0.series_number}` : 'Series');
  const detail = [f0.series_number !== null ? `#${f0.series_number}` : '', f0.modality ?? ''].filter(Boolean).join(' ');
  const byIndex = new Map(list.map((f) => [f.index, f]));
  const stacks: Stack[] = [];
  const rest: FileEntry[] = [];
  for (const f of list) {
    const s = stackOf.get(f.index);
    if (!s) rest.push(f);
    else if (!stacks.includes(s)) stacks.push(s);
  }
  const out: Group[] = stacks.map((s) => {
    const seen = new Set<number>();
    const files: FileEntry[] = [];
    for (const [fi] of s.slices) {
      const f = byIndex.get(fi);
      if (f && !seen.has(fi)) {
        seen.add(fi);
        files.push(f);
      }
    }
    const suffix = /\(\d+\)$/.exec(s.label)?.[0];
    return {
      level: 'series',
      key: `${key}#${s.id}`,
      label: suffix ? `${label} ${suffix}` : label,
      detail: [detail, sliceCount(s.slice_count)].filter(Boolean).join(' · '),
      children: [],
      files,
      count: files.length,
      stack: s,
    };
  });
  if (rest.length) out.push({ level: 'series', key, label, detail, children: [], files: rest, count: rest.length, stack: null });
  return out;
}

/** Group files into patients, studies and series, each level sorted; `stacks` give the series rows that open stacks. */
export function buildTree(files: FileEntry[], stacks: readonly Stack[] = []): Group[] {
  const stackOf = new Map<number, Stack>();
  for (const s of stacks) for (const [f] of s.slices) if (!stackOf.has(f)) stackOf.set(f, s);
  const patients = new Map<string, Map<string, Map<string, FileEntry[]>>>();
  for (const f of files) {
    const p = f.patient_id ?? '';
    const s = f.study_instance_uid ?? `~${p}`;
    const r = f.series_instance_uid ?? `~${s}`;
    let studies = patients.get(p);
    if (!studies) patients.set(p, (studies = new Map()));
    let series = studies.get(s);
    if (!series) studies.set(s, (series = new Map()));
    let list = series.get(r);
    if (!list) series.set(r, (list = []));
    list.push(f);
  }
  const out: Group[] = [];
  for (const [pKey, studies] of patients) {
    const studyGroups: Group[] = [];
    for (const [sKey, series] of studies) {
      const groups: Group[] = [];
      for (const [rKey, list] of series) {
        list.sort((a, b) => cmp(a.instance_number, b.instance_number) || a.index - b.index);
        groups.push(...seriesGroups(rKey, list, stackOf));
      }
      // a split series' rows stay together, in stack order (the sort is stable)
      const base = (g: Group): string => g.label.replace(/ \(\d+\)$/, '');
      groups.sort((a, b) => cmp(a.files[0].series_number, b.files[0].series_number) || cmp(base(a), base(b)));
      const f0 = groups[0].files[0];
      studyGroups.push({
        level: 'study',
        key: sKey,
        label: f0.study_description || 'Study',
        detail: formatDate(f0.study_date),
        children: groups,
        files: [],
        count: groups.reduce((n, g) => n + g.count, 0),
      });
    }
    studyGroups.sort((a, b) => cmp(a.children[0].files[0].study_date, b.children[0].files[0].study_date) || cmp(a.label, b.label));
    const f0 = studyGroups[0].children[0].files[0];
    out.push({
      level: 'patient',
      key: pKey,
      label: pKey || 'No patient ID',
      detail: f0.patient_name ?? '',
      children: studyGroups,
      files: [],
      count: studyGroups.reduce((n, g) => n + g.count, 0),
    });
  }
  out.sort((a, b) => cmp(a.key || null, b.key || null));
  return out;
}

/** Keep only files passing the filter (and the groups that still hold some). */
export function filterTree(tree: Group[], terms: Term[]): Group[] {
  if (terms.length === 0) return tree;
  const prune = (g: Group): Group | null => {
    if (g.level === 'series') {
      const files = g.files.filter((f) => matches(f, terms));
      return files.length ? { ...g, files, count: files.length } : null;
    }
    const children = g.children.map(prune).filter((c): c is Group => c !== null);
    return children.length ? { ...g, children, count: children.reduce((n, c) => n + c.count, 0) } : null;
  };
  return tree.map(prune).filter((g): g is Group => g !== null);
}

function instanceLabel(f: FileEntry): string {
  const name = f.path.split(/[\\/]/).pop() ?? f.path;
  return f.instance_number !== null && f.instance_number !== undefined ? `#${f.instance_number} ${name}` : name;
}

/** Flatten the tree into display rows; `collapsed` holds row ids the user closed. */
export function flatten(tree: Group[], collapsed: ReadonlySet<string>): Row[] {
  const rows: Row[] = [];
  const walk = (g: Group, depth: number, parent: string): void => {
    const id = `${parent}/${g.level[0]}:${g.key}`;
    const expanded = !collapsed.has(id);
    rows.push({
      level: g.level,
      id,
      depth,
      label: g.label,
      detail: g.detail || NONE,
      count: g.count,
      childCount: g.level === 'series' ? g.files.length : g.children.length,
      expanded,
      file: null,
      stack: g.stack ?? null,
    });
    if (!expanded) return;
    for (const c of g.children) walk(c, depth + 1, id);
    for (const f of g.files) {
      rows.push({
        level: 'instance',
        id: `file:${f.index}`,
        depth: depth + 1,
        label: instanceLabel(f),
        detail: f.frame_count > 1 ? `${f.frame_count} frames` : `${f.columns}×${f.rows}`,
        count: 1,
        childCount: 0,
        expanded: false,
        file: f,
        stack: null,
      });
    }
  };
  for (const g of tree) walk(g, 0, '');
  return rows;
}

/** Row heights for the virtualised list (instances carry a thumbnail). */
export const ROW_HEIGHT: Record<Level, number> = { patient: 30, study: 30, series: 30, instance: 48 };

/** Prefix offsets of rows: offsets[i] is the top of row i, offsets[n] the total height. */
export function rowOffsets(rows: Row[]): Float64Array {
  const o = new Float64Array(rows.length + 1);
  for (let i = 0; i < rows.length; i++) o[i + 1] = o[i] + ROW_HEIGHT[rows[i].level];
  return o;
}

/** The rows [start, end) that intersect the scroll window, plus `overscan` on each side. */
export function visibleRange(offsets: Float64Array, top: number, height: number, overscan = 4): [number, number] {
  const n = offsets.length - 1;
  // first row whose bottom is below `top`
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (offsets[mid + 1] <= top) lo = mid + 1;
    else hi = mid;
  }
  let end = lo;
  while (end < n && offsets[end] < top + height) end++;
  return [Math.max(0, lo - overscan), Math.min(n, end + overscan)];
}

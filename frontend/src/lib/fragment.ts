/**
 * The reading kept in the URL fragment (after the token; a fragment never reaches the server):
 * the layout, the file of each viewport and the active one, e.g. `#layout=1x2&files=3,5&active=1`.
 * A reload, or the same local URL in another tab, restores it. Other fragment fields are kept.
 */

import { LAYOUTS, type LayoutId } from './layouts';

export interface Reading {
  layout: LayoutId;
  /** The file index shown in each cell, null for an empty cell. */
  files: (number | null)[];
  active: number;
}

const FIELDS = ['layout', 'files', 'active'];

/** The fragment (without `#`) for `r`, keeping the other fields of `hash`. */
export function encodeReading(hash: string, r: Reading): string {
  const params = new URLSearchParams(hash.startsWith('#') ? hash.slice(1) : hash);
  for (const f of FIELDS) params.delete(f);
  params.set('layout', r.layout);
  params.set('files', r.files.map((f) => (f === null ? '' : String(f))).join(','));
  params.set('active', String(r.active));
  // commas are safe in a fragment: keep the address readable
  return params.toString().replace(/%2C/g, ',');
}

/** The reading in a fragment, or null when it has none (or an unknown layout). */
export function decodeReading(hash: string): Reading | null {
  const params = new URLSearchParams(hash.startsWith('#') ? hash.slice(1) : hash);
  const layout = params.get('layout');
  const def = LAYOUTS.find((l) => l.id === layout);
  if (!def) return null;
  const count = def.rows * def.columns;
  const raw = (params.get('files') ?? '').split(',');
  const files = Array.from({ length: count }, (_, i) => {
    const v = raw[i];
    return v !== undefined && /^\d+$/.test(v) ? Number(v) : null;
  });
  const a = Number(params.get('active') ?? 0);
  return { layout: def.id, files, active: Number.isInteger(a) && a >= 0 && a < count ? a : 0 };
}

/**
 * The reading kept in the URL fragment (after the token; a fragment never reaches the server):
 * the layout (grids, MPR, Hanging, Compare with prior), what each viewport shows (its file, the
 * stack it scrolls, its frame or slice), the active one and the Link viewports toggle, e.g.
 * `#layout=mpr&files=3,3,3&stacks=s2,s2,s2&pos=12,24,31&active=0&link=0`. A reload, or the same
 * local URL in another tab, restores it. Other fragment fields are kept.
 */

import { LAYOUTS, type LayoutId } from './layouts';

export interface Reading {
  layout: LayoutId;
  /** The file index shown in each cell, null for an empty cell. */
  files: (number | null)[];
  active: number;
  /** The stack id each cell scrolls (a series opened as a stack, the MPR planes), else null. */
  stacks?: (string | null)[];
  /** Each cell's position: its frame, or its slice on its stack axis (MPR: the crosshair). */
  positions?: number[];
  /** The Link viewports toggle. */
  link?: boolean;
}

const FIELDS = ['layout', 'files', 'stacks', 'pos', 'active', 'link'];
/** Stack ids are short server strings (docs/api.md): anything else is not one. */
const STACK_ID = /^[A-Za-z0-9_.-]{1,64}$/;

/** The fragment (without `#`) for `r`, keeping the other fields of `hash`. */
export function encodeReading(hash: string, r: Reading): string {
  const params = new URLSearchParams(hash.startsWith('#') ? hash.slice(1) : hash);
  for (const f of FIELDS) params.delete(f);
  params.set('layout', r.layout);
  params.set('files', r.files.map((f) => (f === null ? '' : String(f))).join(','));
  if (r.stacks?.some((s) => s !== null)) params.set('stacks', r.stacks.map((s) => s ?? '').join(','));
  if (r.positions?.some((p) => p > 0)) params.set('pos', r.positions.join(','));
  params.set('active', String(r.active));
  if (r.link !== undefined) params.set('link', r.link ? '1' : '0');
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
  const list = (name: string): string[] => (params.get(name) ?? '').split(',');
  const raw = list('files');
  const files = Array.from({ length: count }, (_, i) => {
    const v = raw[i];
    return v !== undefined && /^\d{1,9}$/.test(v) ? Number(v) : null;
  });
  const rawStacks = list('stacks');
  const stacks = Array.from({ length: count }, (_, i) => {
    const v = rawStacks[i];
    return v !== undefined && STACK_ID.test(v) ? v : null;
  });
  const rawPos = list('pos');
  const positions = Array.from({ length: count }, (_, i) => {
    const v = rawPos[i];
    return v !== undefined && /^\d{1,9}$/.test(v) ? Number(v) : 0;
  });
  const a = Number(params.get('active') ?? 0);
  const link = params.get('link');
  return {
    layout: def.id,
    files,
    active: Number.isInteger(a) && a >= 0 && a < count ? a : 0,
    stacks,
    positions,
    ...(link === '1' || link === '0' ? { link: link === '1' } : {}),
  };
}

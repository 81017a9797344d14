/**
 * The tags panel's pure logic: value display, the copy text, filtering over tag, keyword, VR
 * and value (inside sequences too), flattening the tree into rows, and merging a page of
 * sequence items fetched with `tags/select`.
 *
 * Paths follow the API: `(0008,1140)/0/(0008,1155)` is element (0008,1155) of item 0 of the
 * sequence (0008,1140).
 */

import type { TagNode } from './api';

export function formatValue(node: TagNode): string {
  const v = node.value;
  switch (v.type) {
    case 'string':
      return v.value;
    case 'number':
      return String(v.value);
    case 'numbers': {
      const s = v.value.join('\\');
      return v.truncated ? `${s}\\… (${v.total ?? '?'} values)` : s;
    }
    case 'binary':
      return `[${node.vr} · ${v.length} bytes]`;
    case 'sequence': {
      const n = v.total ?? v.items.length;
      return `${n} item${n === 1 ? '' : 's'}`;
    }
    case 'error':
      return `⚠ ${v.message}`;
  }
}

/** The keyword, or for an element the dictionary leaves unnamed, a name from its tag. */
function keywordOf(node: TagNode): string {
  if (node.keyword) return node.keyword;
  // (gggg,0000) is every group's length element (PS3.5 7.2), named or not
  return /^\([0-9A-Fa-f]{4},0000\)$/.test(node.tag) ? 'GroupLength' : 'Unknown';
}

export function displayKeyword(node: TagNode): string {
  if (node.keyword === 'Private' && node.private_creator) return `Private (${node.private_creator})`;
  return keywordOf(node);
}

/** What a click copies: `(gggg,eeee) Keyword = value`. */
export function copyText(node: TagNode): string {
  return `${node.tag} ${keywordOf(node)} = ${formatValue(node)}`;
}

/** Whether the node itself matches the lower-cased needle. */
export function selfMatches(node: TagNode, needle: string): boolean {
  if (!needle) return true;
  return (
    node.tag.toLowerCase().includes(needle) ||
    node.tag.replace(/[(),]/g, '').toLowerCase().includes(needle) ||
    displayKeyword(node).toLowerCase().includes(needle) ||
    node.vr.toLowerCase() === needle ||
    formatValue(node).toLowerCase().includes(needle)
  );
}

/** Whether the node or anything inside it matches. */
export function deepMatches(node: TagNode, needle: string): boolean {
  if (selfMatches(node, needle)) return true;
  return node.value.type === 'sequence' && node.value.items.some((item) => item.some((n) => deepMatches(n, needle)));
}

export type TagRow =
  | { kind: 'tag'; id: string; depth: number; node: TagNode; expandable: boolean; open: boolean; match: boolean }
  | { kind: 'item'; id: string; depth: number; index: number }
  | { kind: 'more'; id: string; depth: number; path: string; loaded: number; total: number };

/**
 * Rows to show. Sequences open when their path is in `open`, or when filtering and something
 * inside matches. With a filter, only matching nodes and their ancestors are kept.
 */
export function tagRows(tree: TagNode[], open: ReadonlySet<string>, filter: string): TagRow[] {
  const needle = filter.trim().toLowerCase();
  const rows: TagRow[] = [];
  const walk = (nodes: TagNode[], prefix: string, depth: number): void => {
    for (const node of nodes) {
      const path = prefix ? `${prefix}/${node.tag}` : node.tag;
      const self = needle ? selfMatches(node, needle) : true;
      const inner = needle && node.value.type === 'sequence' ? deepMatches(node, needle) && !self : false;
      if (needle && !self && !inner) continue;
      const v = node.value;
      const expandable = v.type === 'sequence' && ((v.total ?? v.items.length) > 0 || v.items.length > 0);
      const isOpen = expandable && (open.has(path) || inner);
      rows.push({ kind: 'tag', id: path, depth, node, expandable, open: isOpen, match: !!needle && self });
      if (!isOpen || v.type !== 'sequence') continue;
      v.items.forEach((item, i) => {
        const itemPath = `${path}/${i}`;
        if (needle && !self && !item.some((n) => deepMatches(n, needle))) return;
        rows.push({ kind: 'item', id: itemPath, depth: depth + 1, index: i });
        // inside a matching sequence show everything; else only the matching parts
        walk(item, itemPath, depth + 2);
      });
      const total = v.total ?? v.items.length;
      if (v.items.length < total) {
        rows.push({ kind: 'more', id: `${path}/+`, depth: depth + 1, path, loaded: v.items.length, total });
      }
    }
  };
  // When a sequence itself matches, its contents are shown unfiltered.
  const walkAll = (nodes: TagNode[], prefix: string, depth: number): void => walk(nodes, prefix, depth);
  walkAll(tree, '', 0);
  return rows;
}

/** Replace the node at `path` (tag/index/tag/...) through `fn`, copying only the spine. */
export function updateAt(tree: TagNode[], path: string, fn: (n: TagNode) => TagNode): TagNode[] {
  const parts = path.split('/');
  const go = (nodes: TagNode[], i: number): TagNode[] =>
    nodes.map((n) => {
      if (n.tag !== parts[i]) return n;
      if (i === parts.length - 1) return fn(n);
      if (n.value.type !== 'sequence') return n;
      const itemIndex = Number(parts[i + 1]);
      const items = n.value.items.map((item, k) => (k === itemIndex ? go(item, i + 2) : item));
      return { ...n, value: { ...n.value, items } };
    });
  return go(tree, 0);
}

/** Append a page of items (a `tags/select` answer for `path`) to the sequence there. */
export function mergePage(tree: TagNode[], path: string, page: TagNode): TagNode[] {
  return updateAt(tree, path, (n) => {
    if (n.value.type !== 'sequence' || page.value.type !== 'sequence') return n;
    const items = [...n.value.items, ...page.value.items];
    const total = page.value.total ?? n.value.total ?? items.length;
    return { ...n, value: { type: 'sequence', items, total, truncated: items.length < total } };
  });
}

/** Default width of the Tag column: `(gggg,eeee)` in the monospace face plus the cell padding. */
export const TAG_COLUMN = 94;

/** The Value column never gets narrower than this (the other columns fit beside it at the default panel width). */
export const VALUE_MIN = 60;

/** Height of one row of the tags table, in CSS pixels (every row kind has it: the list is virtualised). */
export const TAG_ROW_HEIGHT = 22;

/**
 * Lists up to this many rows are rendered whole (in-page search and Tab reach every row); longer
 * ones (enhanced multi-frame headers: thousands of functional-group nodes) are virtualised.
 */
export const TAG_VIRTUAL_FROM = 400;

/**
 * The slice `[start, end)` of `count` fixed-height rows to render for a viewport `height` high
 * scrolled `top` pixels into the rows (negative while the header is still in view), plus
 * `overscan` rows either side; all of them up to `TAG_VIRTUAL_FROM` rows.
 */
export function tagWindow(count: number, top: number, height: number, rowHeight = TAG_ROW_HEIGHT, overscan = 10): [number, number] {
  if (count <= 0) return [0, 0];
  if (count <= TAG_VIRTUAL_FROM) return [0, count];
  const first = Math.floor(Math.max(0, top) / rowHeight);
  const last = Math.ceil((Math.max(0, top) + Math.max(0, height)) / rowHeight);
  const start = Math.max(0, Math.min(count, first - overscan));
  const end = Math.max(start, Math.min(count, last + overscan));
  return [start, end];
}

/**
 * The layout manager: the viewports on screen (one per cell of the chosen layout), which one
 * is active (it has the outline, receives the keyboard and the toolbar acts on it), the open
 * files (tabs) and the linking of the others to the active one.
 */

import { untrack } from 'svelte';
import { cellCount, fillCells, type LayoutId } from '../lib/layouts';
import { linkedFrame, linkedZoom } from '../lib/linking';
import type { Stack } from '../lib/api';
import { Mpr } from './mpr.svelte';
import { ViewportState, type ViewerContext } from './viewport.svelte';

/** What linked viewports take from the active one. */
export class Linking {
  /** The "Link viewports" toggle. */
  on = $state(false);
  window = $state(true);
  zoom = $state(true);
  frame = $state(true);
}

export class Layout {
  kind = $state<LayoutId>('1x1');
  viewports = $state.raw<ViewportState[]>([]);
  activeIndex = $state(0);
  /** Open files, in tab order. */
  tabs = $state.raw<number[]>([]);
  readonly linking = new Linking();
  /** The MPR planes' manager (crosshair, window) while the layout is MPR. */
  mpr = $state.raw<Mpr | null>(null);
  readonly active = $derived.by(() => this.viewports[Math.min(this.activeIndex, this.viewports.length - 1)]);

  private readonly ctx: ViewerContext;
  private dispose: () => void;

  constructor(ctx: ViewerContext) {
    this.ctx = ctx;
    this.viewports = [new ViewportState(ctx, 0)];
    this.dispose = $effect.root(() => {
      $effect(() => this.follow());
    });
  }

  destroy(): void {
    this.dispose();
    for (const v of this.viewports) v.destroy();
  }

  /** Switch layout: cells that stay keep their viewport; new cells show open files not shown yet. */
  setKind(kind: LayoutId): void {
    if (kind === 'mpr') {
      this.setMpr();
      return;
    }
    this.leaveMpr();
    const n = cellCount(kind);
    const keep = this.viewports.slice(0, n);
    for (const v of this.viewports.slice(n)) v.destroy();
    const files = fillCells(
      keep.map((v) => v.fileIndex),
      n,
      this.tabs,
      this.active?.fileIndex ?? null,
    );
    const next = [...keep];
    for (let i = keep.length; i < n; i++) {
      const v = new ViewportState(this.ctx, i);
      v.open(files[i]);
      next.push(v);
    }
    this.viewports = next;
    this.kind = kind;
    if (this.activeIndex >= n) this.activeIndex = 0;
  }

  /** The MPR layout on the active viewport's stack (or its file's); nothing changes when there is none. */
  private setMpr(): void {
    const from = this.mpr ? this.mpr.viewports[0] : this.active;
    if (!(from.stack ?? this.ctx.stacks.stackOf(from.fileIndex))) return;
    this.mpr?.destroy();
    const ids = [0, 1, 2, 3].filter((id) => id !== from.id);
    const m = Mpr.create(this.ctx, from, [ids[0], ids[1]], () => this.active);
    if (!m) return;
    for (const v of this.viewports) if (v !== from) v.destroy();
    this.mpr = m;
    this.viewports = [...m.viewports];
    this.kind = 'mpr';
    this.activeIndex = 0;
  }

  /** Back from MPR: the acquired plane's viewport stays (as a stack viewer), the reformats close. */
  private leaveMpr(): void {
    const m = this.mpr;
    if (!m) return;
    m.destroy();
    this.mpr = null;
    const [a, ...rest] = m.viewports;
    for (const v of rest) v.destroy();
    this.viewports = [a];
    this.activeIndex = 0;
  }

  /** Open a stack (a navigator series row) in the active viewport; in MPR, as the MPR planes. */
  openStack(stack: Stack): void {
    const first = stack.slices[0]?.[0];
    if (first === undefined) return;
    if (!this.tabs.includes(first)) this.tabs = [...this.tabs, first];
    if (this.mpr) {
      this.setKind('1x1');
      this.viewports[0].openStack(stack);
      this.setKind('mpr');
      return;
    }
    this.active.openStack(stack);
  }

  activate(i: number): void {
    if (i >= 0 && i < this.viewports.length) this.activeIndex = i;
  }

  /** Open `file` in the active viewport (or viewport `at`) and as a tab. */
  open(file: number, at = this.activeIndex): void {
    if (!this.tabs.includes(file)) this.tabs = [...this.tabs, file];
    if (this.mpr) {
      // another file in MPR: the MPR planes of its stack (else 1×1)
      this.setKind('1x1');
      this.viewports[0].open(file);
      this.setKind('mpr');
      return;
    }
    this.viewports[at]?.open(file);
  }

  /** Close a tab; viewports that showed it show the neighbouring tab, or nothing. */
  closeTab(file: number): void {
    const at = this.tabs.indexOf(file);
    const rest = this.tabs.filter((t) => t !== file);
    const next = rest[Math.min(at, rest.length - 1)] ?? null;
    for (const v of this.viewports) if (v.fileIndex === file) v.open(next);
    this.tabs = rest;
  }

  /** Linked viewports follow the active one's window, zoom and frame. */
  private follow(): void {
    if (this.mpr || !this.linking.on || this.viewports.length < 2) return;
    const a = this.active;
    const { window: linkWindow, zoom: linkZoom, frame: linkFrame } = this.linking;
    const choice = a.choice;
    const manual = a.manual;
    const frame = a.position;
    const placement = a.placement;
    const spacing = a.info?.pixel_spacing?.[1];
    untrack(() => {
      for (const o of this.viewports) {
        if (o === a || o.fileIndex === null) continue;
        if (linkWindow && !o.colour) {
          o.choice = choice;
          o.manual = { ...manual };
        }
        if (linkFrame) o.goto(linkedFrame(frame, o.positionCount));
        if (linkZoom) {
          if (!placement) o.placement = null;
          else {
            const { rows, columns } = o.dims;
            o.placement = {
              cx: o.placement?.cx ?? columns / 2,
              cy: o.placement?.cy ?? rows / 2,
              zoom: linkedZoom(placement.zoom, spacing, o.info?.pixel_spacing?.[1]),
            };
          }
        }
      }
    });
  }
}

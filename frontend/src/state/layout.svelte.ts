/**
 * The layout manager: the viewports on screen (one per cell of the chosen layout), which one
 * is active (it has the outline, receives the keyboard and the toolbar acts on it), the open
 * files (tabs) and the linking of the others to the active one.
 */

import { untrack } from 'svelte';
import { cellCount, fillCells, type LayoutId } from '../lib/layouts';
import { linkedPlacement, linkedSlice } from '../lib/linking';
import type { Placement } from '../lib/viewport';
import {
  HANGING_CELLS,
  baseView,
  cellName,
  chestWallSide,
  commonExtent,
  extentOf,
  hangStudy,
  needsFlip,
  priorCells,
  priorStudy,
  studyToHang,
  viewOf,
  wallOnScreen,
  type Hang,
  type ViewKey,
} from '../lib/hanging';
import type { Stack } from '../lib/api';
import { Mpr } from './mpr.svelte';
import { ViewportState, type ViewerContext } from './viewport.svelte';

/** The smallest viewport id none of `taken` has (ids name each viewport's help text and its prefetches). */
function freeId(taken: readonly ViewportState[]): number {
  let id = 0;
  while (taken.some((v) => v.id === id)) id++;
  return id;
}

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
  /** The mammography hanging's cells (views and names) while the layout is Hanging or Compare with prior. */
  hanging = $state.raw<{ cells: ViewKey[]; names: string[] } | null>(null);
  /** Per viewport: its place in the hanging (same physical scale in every cell), else null. */
  readonly hangs = $derived.by<(Hang | null)[]>(() => {
    const h = this.hanging;
    if (!h) return this.viewports.map(() => null);
    const extents = this.viewports.map((v) => (v.fileIndex === null ? null : extentOf(v.dims.rows, v.dims.columns, v.info?.pixel_spacing)));
    const extent = commonExtent(extents.filter((e) => e !== null));
    return this.viewports.map((v, i) => ({
      name: h.names[i] ?? '',
      wall: wallOnScreen(h.cells[i]?.side ?? 'R'),
      extent,
      columnSpacing: extentOf(1, 1, v.info?.pixel_spacing).width,
    }));
  });
  /** Per viewport: the ROI list last seen (shareRois). */
  private readonly seenBoxes = new WeakMap<ViewportState, readonly unknown[]>();
  /** The viewport the others followed last (linking). */
  private leader: ViewportState | null = null;
  /** Per viewport id: the file whose chest wall has been turned to the centre. */
  private readonly oriented = new Map<number, number>();

  private readonly ctx: ViewerContext;
  private dispose: () => void;

  constructor(ctx: ViewerContext) {
    this.ctx = ctx;
    this.viewports = [new ViewportState(ctx, 0)];
    this.dispose = $effect.root(() => {
      $effect(() => this.follow());
      $effect(() => this.orientHung());
      $effect(() => this.shareRois());
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
    if (kind === 'hanging' || kind === 'prior') {
      this.setHanging(kind);
      return;
    }
    this.leaveMpr();
    this.hanging = null;
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
      const v = new ViewportState(this.ctx, freeId(next));
      if (this.active) v.overlays.copyFrom(this.active.overlays);
      v.open(files[i]);
      next.push(v);
    }
    this.viewports = next;
    this.kind = kind;
    if (this.activeIndex >= n) this.activeIndex = 0;
  }

  /**
   * Hang the study of the active file (else the first mammography study): Hanging places its
   * four views; Compare with prior its view pair (the active view's, else CC) above the prior
   * study's. Nothing changes without mammography views (or, for the prior, without a prior).
   */
  private setHanging(kind: 'hanging' | 'prior'): void {
    const files = this.ctx.session.files;
    const activeFile = this.active?.fileIndex ?? null;
    const study = studyToHang(files, activeFile);
    if (!study) return;
    let cells: ViewKey[];
    let picks: (number | null)[];
    let names: string[];
    if (kind === 'hanging') {
      cells = [...HANGING_CELLS];
      picks = hangStudy(files, study, cells);
      names = cells.map(cellName);
    } else {
      const prior = priorStudy(files, study);
      if (!prior) return;
      const f = files.find((g) => g.index === activeFile);
      const pair = priorCells((f && viewOf(f)?.view) || 'CC');
      cells = [...pair, ...pair];
      picks = [...hangStudy(files, study, pair), ...hangStudy(files, prior, pair)];
      names = [...pair.map(cellName), ...pair.map((c) => `${cellName(c)} prior`)];
    }
    this.leaveMpr();
    const keep = this.viewports.slice(0, cells.length);
    for (const v of this.viewports.slice(cells.length)) v.destroy();
    const next = [...keep];
    for (let i = keep.length; i < cells.length; i++) {
      const v = new ViewportState(this.ctx, freeId(next));
      if (this.active) v.overlays.copyFrom(this.active.overlays);
      next.push(v);
    }
    this.oriented.clear();
    for (let i = 0; i < next.length; i++) {
      next[i].open(picks[i]);
      next[i].placement = null;
      next[i].orientation = { rotation: 0, flipH: false, flipV: false };
    }
    const shown = picks.filter((p): p is number => p !== null && !this.tabs.includes(p));
    if (shown.length) this.tabs = [...this.tabs, ...new Set(shown)];
    this.viewports = next;
    this.hanging = { cells, names };
    this.kind = kind;
    this.linking.on = true;
    this.activeIndex = Math.max(0, picks.findIndex((p) => p !== null));
  }

  /**
   * Viewports that show the same file show the same ROIs: an edit committed in one (it is being
   * saved) is shown by the others at once (each keeps its own selection and drawing).
   */
  private shareRois(): void {
    const shown = this.viewports.map((v) => ({ v, file: v.fileIndex, boxes: v.rois.boxes, saving: v.rois.saving }));
    untrack(() => {
      for (const { v, file, boxes, saving } of shown) {
        if (this.seenBoxes.get(v) === boxes) continue;
        this.seenBoxes.set(v, boxes);
        if (file === null || !saving) continue;
        for (const o of shown) {
          if (o.v === v || o.file !== file || o.v.rois.boxes === boxes) continue;
          o.v.rois.boxes = boxes;
          if (o.v.rois.selected >= boxes.length) o.v.rois.selected = -1;
          this.seenBoxes.set(o.v, boxes);
        }
      }
    });
  }

  /** Each hung image is flipped so that its chest wall (the side with tissue) faces the centre. */
  private orientHung(): void {
    const h = this.hanging;
    if (!h) return;
    this.viewports.forEach((v, i) => {
      const raw = v.raw;
      const f = v.fileIndex;
      const cell = h.cells[i];
      if (!raw || f === null || !cell) return;
      untrack(() => {
        if (this.oriented.get(v.id) === f) return;
        this.oriented.set(v.id, f);
        const wall = chestWallSide(raw.data, raw.rows, raw.columns, raw.samplesPerPixel, raw.photometric === 'MONOCHROME1');
        v.orientation = { rotation: 0, flipH: needsFlip(wall, wallOnScreen(cell.side)), flipV: false };
      });
    });
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

  /** Linked viewports follow the active one's window, zoom/pan and frame/slice. */
  private follow(): void {
    if (this.mpr || !this.linking.on || this.viewports.length < 2) {
      this.leader = null;
      return;
    }
    const a = this.active;
    const { window: linkWindow, zoom: linkZoom, frame: linkFrame } = this.linking;
    const choice = a.choice;
    const manual = a.manual;
    const position = a.position;
    const placement = a.placement;
    const orientation = a.orientation;
    // another viewport became active: the others already follow it (pushing its state back
    // would move the one left by the rounding of depth or position)
    const switched = this.leader !== null && this.leader !== a;
    this.leader = a;
    if (switched) return;
    untrack(() => {
      const hangs = this.hangs;
      const at = this.viewports.indexOf(a);
      const from = { base: this.baseOf(a, hangs[at]), placement, orientation, spacing: a.displaySpacing };
      const slice = { position, count: a.positionCount, geometry: a.geometry };
      this.viewports.forEach((o, i) => {
        if (o === a || o.fileIndex === null) return;
        if (linkWindow && !o.colour) {
          o.choice = choice;
          o.manual = { ...manual };
        }
        if (linkFrame) o.goto(linkedSlice(slice, { count: o.positionCount, geometry: o.geometry }, this.hanging !== null));
        if (linkZoom) {
          const mirror = !!hangs[i] && !!hangs[at] && hangs[i]?.wall !== hangs[at]?.wall;
          o.placement = linkedPlacement(from, { base: this.baseOf(o, hangs[i]), orientation: o.orientation, spacing: o.displaySpacing }, mirror);
        }
      });
    });
  }

  /** A viewport's fitted view (in its hanging cell, if any): what its pan is measured from. */
  private baseOf(v: ViewportState, hang: Hang | null | undefined): Placement {
    const { cx, cy, zoom } = baseView(hang ?? null, v.dims, v.aspect, v.canvas, v.orientation);
    return { cx, cy, zoom };
  }
}

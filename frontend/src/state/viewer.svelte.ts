/**
 * The viewer as a whole: the managers App.svelte lays out (session, layout, tools, panels,
 * unexported edits) and the global keyboard shortcuts, which act on the active viewport.
 */

import { untrack } from 'svelte';
import type { FileEntry, Stack } from '../lib/api';
import { decodeReading, encodeReading, type Reading } from '../lib/fragment';
import { FrameStore } from '../lib/frames';
import { PointerFocus, actionForKey, controlOf, keyBelongsToControl, roiGrow, roiNudge, type Action } from '../lib/keys';
import type { RendererChoice } from '../lib/renderer';
import { UnexportedEdits } from './edits.svelte';
import { Layout } from './layout.svelte';
import { overlayLayers } from './overlays.svelte';
import { Panels } from './panels.svelte';
import { Session } from './session.svelte';
import { Stacks } from './stacks.svelte';
import { Tools } from './tools.svelte';
import type { ViewerContext } from './viewport.svelte';

/** The decoded-frame budget: a share of the device's memory, 192–768 MiB. */
function budgetBytes(): number {
  const mem = (navigator as Navigator & { deviceMemory?: number }).deviceMemory ?? 4;
  return Math.min(768, Math.max(192, mem * 64)) * 1024 * 1024;
}

export class Viewer {
  readonly session = Session.fromLocation();
  readonly edits = new UnexportedEdits();
  readonly store = new FrameStore((f, fr, signal) => this.session.api.raw(f, fr, signal), budgetBytes(), 4);
  readonly ctx: ViewerContext = {
    session: this.session,
    store: this.store,
    edits: this.edits,
    fileViews: new Map(),
    seriesWindows: new Map(),
    percentiles: new Map(),
    overlays: new Map(),
    stacks: new Stacks(this.session, budgetBytes() / 2),
  };
  readonly layout = new Layout(this.ctx);
  readonly tools = new Tools();
  readonly panels = new Panels(window.innerWidth);
  readonly rendererChoice: RendererChoice;
  sheetOpen = $state(false);
  private focus = new PointerFocus();
  /** The reading of the URL fragment still to restore (its files may not be scanned yet). */
  private pending: Reading | null;

  constructor() {
    const r = new URLSearchParams(location.search).get('renderer');
    this.rendererChoice = r === 'cpu' || r === 'webgl' ? r : 'auto';
    this.pending = decodeReading(location.hash); // read after Session took the token out
    this.session.onfiles = (files) => {
      // a reading to restore opens its own files (restoring())
      if (this.pending || this.layout.active.fileIndex !== null || this.layout.tabs.length) return;
      this.openFirst(files);
    };
  }

  private openFirst(files: readonly FileEntry[]): void {
    const first = files.find((f) => f.support_state === 'renderable') ?? files[0];
    if (first) this.layout.open(first.index);
  }

  /** Restore the fragment's reading once its files (and stacks) are known, or the scan has ended. */
  private restoring(): () => void {
    return $effect.root(() => {
      $effect(() => {
        const files = this.session.files;
        void [this.ctx.stacks.list, this.session.scan.complete, this.ctx.stacks.complete];
        untrack(() => {
          const r = this.pending;
          if (!r || !files.length) return;
          const stacks = this.ctx.stacks;
          const known =
            r.files.every((f) => f === null || this.session.byIndex.has(f)) &&
            (r.stacks ?? []).every((id) => id === null || stacks.byId.has(id)) &&
            (r.layout !== 'mpr' || stacks.stackOf(r.files[0] ?? null) !== null);
          // give up waiting when the scan has ended (and the stacks with it, if they are needed)
          const needsStacks = r.layout === 'mpr' || (r.stacks ?? []).some((id) => id !== null);
          if (!known && !(this.session.scan.complete && (stacks.complete || !needsStacks))) return;
          this.pending = null;
          this.restore(r);
          if (this.layout.active.fileIndex === null && !this.layout.tabs.length) this.openFirst(files);
        });
      });
    });
  }

  /** Put a reading on screen: its layout, each cell's file or stack and position, the active cell, the link toggle. */
  private restore(r: Reading): void {
    const layout = this.layout;
    const stacks = this.ctx.stacks;
    const known = (f: number | null | undefined): f is number => f !== null && f !== undefined && this.session.byIndex.has(f);
    const pos = (i: number): number => r.positions?.[i] ?? 0;
    const stackAt = (i: number): Stack | null => {
      const id = r.stacks?.[i];
      return id ? (stacks.byId.get(id) ?? null) : null;
    };
    const first = r.files[0] ?? null;
    if (r.layout === 'mpr') {
      // the acquired plane's stack in one viewport, then its MPR planes at the saved crosshair
      layout.setKind('1x1');
      const stack = stackAt(0) ?? stacks.stackOf(first);
      if (known(first)) layout.open(first, 0);
      if (stack) layout.openStack(stack);
      layout.setKind('mpr');
      if (layout.kind === 'mpr') layout.viewports.forEach((v, i) => v.goto(pos(i)));
    } else if (r.layout === 'hanging' || r.layout === 'prior') {
      // the hanging is chosen from the active file (its study; the prior's view pair)
      const lead = r.files.find(known);
      if (lead !== undefined) {
        layout.setKind('1x1');
        layout.open(lead, 0);
      }
      layout.setKind(r.layout);
      if (layout.kind === r.layout)
        r.files.forEach((f, i) => {
          const v = layout.viewports[i];
          if (!v) return;
          if (known(f) && v.fileIndex !== f) layout.open(f, i);
          v.goto(pos(i));
        });
    } else {
      layout.setKind(r.layout);
      r.files.forEach((f, i) => {
        const v = layout.viewports[i];
        const stack = stackAt(i);
        if (!v || !known(f)) return;
        layout.open(f, i);
        if (stack) v.openStack(stack, pos(i));
        else v.goto(pos(i));
      });
    }
    if (r.link !== undefined && layout.viewports.length > 1) layout.linking.on = r.link;
    layout.activate(r.active);
  }

  /** Keep the reading in the URL fragment (a reload or the same local URL restores it). */
  private persist(): () => void {
    let timer = 0;
    let last = -Infinity;
    const stop = $effect.root(() => {
      $effect(() => {
        const layout = this.layout;
        const files = layout.viewports.map((v) => v.fileIndex);
        const stacks = layout.viewports.map((v) => v.stackId);
        const positions = layout.viewports.map((v) => v.position);
        const reading: Reading = { layout: layout.kind, files, stacks, positions, active: layout.activeIndex, link: layout.linking.on };
        if (files.every((f) => f === null)) return;
        // at once, then a few writes a second at most (cine moves the positions; browsers
        // throttle replaceState)
        const write = (): void => {
          last = performance.now();
          const hash = encodeReading(location.hash, reading);
          history.replaceState(history.state, '', `${location.pathname}${location.search}#${hash}`);
        };
        clearTimeout(timer);
        const wait = last + 200 - performance.now();
        if (wait <= 0) write();
        else timer = window.setTimeout(write, wait);
      });
    });
    return () => {
      clearTimeout(timer);
      stop();
    };
  }

  /** Start talking to the server and listening to the page; returns the stopper. */
  start(): () => void {
    const stops = [this.session.start(), this.edits.guard(window), this.focus.install(document), this.persist(), this.restoring()];
    // overlays are listed once the server has answered with the token (no 401 behind the gate)
    const attach = $effect.root(() => {
      $effect(() => {
        if (this.session.firstAnswer) overlayLayers.attach(this.session.api);
      });
    });
    stops.push(attach, () => overlayLayers.stop());
    return () => {
      for (const s of stops) s();
      this.layout.destroy();
    };
  }

  async exportRois(): Promise<void> {
    try {
      await this.edits.export(this.session.api);
    } catch (e) {
      this.layout.active.rois.error = `Export failed: ${e instanceof Error ? e.message : String(e)}`;
    }
  }

  /** The window's keydown: shortcuts, unless the focused control needs the key. */
  onKey(e: KeyboardEvent): void {
    const conn = this.session.conn;
    if ((conn !== 'ok' && conn !== 'stopped') || this.sheetOpen) return; // the dialog handles Escape itself
    const control = controlOf(e.target, this.focus.byPointer(e.target));
    if (e.altKey && !keyBelongsToControl(control, 'Alt') && this.roiKey(e)) {
      e.preventDefault();
      return;
    }
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    if (keyBelongsToControl(control, e.key)) return;
    if (this.roiKey(e)) {
      e.preventDefault();
      return;
    }
    const a = actionForKey(e.key);
    if (!a) return;
    e.preventDefault();
    this.run(a);
  }

  run(a: Action): void {
    const vp = this.layout.active;
    switch (a.kind) {
      case 'tool':
        this.tools.select(a.tool);
        break;
      case 'layout':
        this.layout.setKind(a.layout);
        break;
      case 'frame':
        vp.step(a.delta);
        break;
      case 'cine':
        vp.cine.toggle();
        break;
      case 'fit':
        vp.fit();
        break;
      case 'invert':
        vp.toggleInvert();
        break;
      case 'flip':
        vp.flip(a.axis);
        break;
      case 'rotate':
        vp.rotate(a.turns);
        break;
      case 'help':
        this.sheetOpen = true;
        break;
      case 'delete-roi':
        vp.rois.deleteSelected();
        break;
      case 'escape':
        vp.rois.selected = -1;
        break;
      case 'overlays':
        vp.overlays.toggleAll();
        break;
    }
  }

  /**
   * Keyboard ROI editing on the active viewport: Alt+arrows move the selected box,
   * Ctrl+Alt+arrows move its bottom-right corner; Enter on the image adds one (ROI tool).
   */
  private roiKey(e: KeyboardEvent): boolean {
    const vp = this.layout.active;
    const { rows, columns } = vp.dims;
    const grow = roiGrow(e);
    if (grow) return vp.rois.grow(grow.dx, grow.dy, rows, columns);
    const nudge = roiNudge(e);
    if (nudge) return vp.rois.nudge(nudge.dx, nudge.dy, rows, columns);
    const onImage = e.target instanceof HTMLElement && e.target.classList.contains('viewport');
    if (e.key === 'Enter' && this.tools.current === 'roi' && onImage && vp.showsImage && rows > 0) {
      vp.rois.addCentred(rows, columns, vp.frameIndex);
      return true;
    }
    return false;
  }
}

/**
 * The viewer as a whole: the managers App.svelte lays out (session, layout, tools, panels,
 * unexported edits) and the global keyboard shortcuts, which act on the active viewport.
 */

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
      if (this.pending) this.restore(this.pending);
      if (this.layout.active.fileIndex !== null || this.layout.tabs.length) return;
      const first = files.find((f) => f.support_state === 'renderable') ?? files[0];
      this.layout.open(first.index);
    };
  }

  /** Put the fragment's reading on screen as far as its files are known; done once all are (or the scan ended). */
  private restore(r: Reading): void {
    const layout = this.layout;
    if (layout.kind !== r.layout) layout.setKind(r.layout);
    let missing = false;
    r.files.forEach((f, i) => {
      if (f === null) return;
      if (!this.session.byIndex.has(f)) missing = true;
      else if (layout.viewports[i]?.fileIndex !== f) layout.open(f, i);
    });
    layout.activate(r.active);
    if (!missing || this.session.scan.complete) this.pending = null;
  }

  /** Keep the reading in the URL fragment (a reload or the same local URL restores it). */
  private persist(): () => void {
    return $effect.root(() => {
      $effect(() => {
        const layout = this.layout;
        const files = layout.viewports.map((v) => v.fileIndex);
        const active = layout.activeIndex;
        if (files.every((f) => f === null)) return;
        const hash = encodeReading(location.hash, { layout: layout.kind, files, active });
        history.replaceState(history.state, '', `${location.pathname}${location.search}#${hash}`);
      });
    });
  }

  /** Start talking to the server and listening to the page; returns the stopper. */
  start(): () => void {
    const stops = [this.session.start(), this.edits.guard(window), this.focus.install(document), this.persist()];
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
        overlayLayers.toggleAll();
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

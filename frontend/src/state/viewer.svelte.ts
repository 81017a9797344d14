/**
 * The viewer as a whole: the managers App.svelte lays out (session, layout, tools, panels,
 * unexported edits) and the global keyboard shortcuts, which act on the active viewport.
 */

import { FrameStore } from '../lib/frames';
import { PointerFocus, actionForKey, controlOf, keyBelongsToControl, roiGrow, roiNudge, type Action } from '../lib/keys';
import type { RendererChoice } from '../lib/renderer';
import { UnexportedEdits } from './edits.svelte';
import { Layout } from './layout.svelte';
import { Panels } from './panels.svelte';
import { Session } from './session.svelte';
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
  };
  readonly layout = new Layout(this.ctx);
  readonly tools = new Tools();
  readonly panels = new Panels(window.innerWidth);
  readonly rendererChoice: RendererChoice;
  sheetOpen = $state(false);
  private focus = new PointerFocus();

  constructor() {
    const r = new URLSearchParams(location.search).get('renderer');
    this.rendererChoice = r === 'cpu' || r === 'webgl' ? r : 'auto';
    this.session.onfiles = (files) => {
      if (this.layout.active.fileIndex !== null || this.layout.tabs.length) return;
      const first = files.find((f) => f.support_state === 'renderable') ?? files[0];
      this.layout.open(first.index);
    };
  }

  /** Start talking to the server and listening to the page; returns the stopper. */
  start(): () => void {
    const stops = [this.session.start(), this.edits.guard(window), this.focus.install(document)];
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

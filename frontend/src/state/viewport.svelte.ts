/**
 * The state of one viewport: which file and frame it shows, how (window, orientation, zoom,
 * invert), its cine clock and its ROIs, and the loading of the file's info, frames and overlay.
 * A layout holds one or more; each `Viewport.svelte` draws one. Everything viewports share
 * (the server session, the decoded-frame cache, what each file and series was last shown with,
 * the unexported-edits count) is the `ViewerContext`.
 */

import { untrack } from 'svelte';
import type { Axis, FileEntry, FileInfo, RawFrame, RegionBox, RegionShape, RegionStats, Stack, Window } from '../lib/api';
import { ApiError } from '../lib/api';
import { describeFile, humanError, syntaxName } from '../lib/describe';
import type { FrameStore } from '../lib/frames';
import { aspectOf, planeCount, planeSpacing } from '../lib/mpr';
import { frameRange, isColour } from '../lib/renderer';
import { UPRIGHT, mirror, turn, type Orientation, type Placement, type Size } from '../lib/viewport';
import { volumeCentres, type DisplaySpacing, type SliceGeometry } from '../lib/linking';
import {
  effectiveWindow,
  formatWindow,
  modalityRange,
  percentileWindow,
  type WindowChoice,
  type WindowMode,
} from '../lib/windowing';
import { Cine, fpsChoices, type CineTarget } from './cine.svelte';
import { OverlayView } from './overlays.svelte';
import type { UnexportedEdits } from './edits.svelte';
import { Rois } from './rois.svelte';
import type { Mpr } from './mpr.svelte';
import { Regions } from './regions.svelte';
import type { Session } from './session.svelte';
import type { Stacks } from './stacks.svelte';

/** What a file was last shown with (restored when it is opened again, in any viewport). */
export interface FileView {
  frame: number;
  orientation: Orientation;
  placement: Placement | null;
  invert: boolean;
}

/** What all viewports share. */
export interface ViewerContext {
  session: Session;
  store: FrameStore;
  edits: UnexportedEdits;
  /** Per file: the view it was last shown with. */
  fileViews: Map<number, FileView>;
  /** Per series (else per file): the window choice, so a series keeps its window. */
  seriesWindows: Map<string, { choice: WindowChoice; manual: Window }>;
  /** Per file: the percentile window of the first frame shown, so cine does not flicker. */
  percentiles: Map<number, Window>;
  /** Overlay planes by `file:frame` (null: the frame has none). */
  overlays: Map<string, Uint8Array | null>;
  /** The server's stacks (series scrolled as one image) and the reformat cache. */
  stacks: Stacks;
}

/** Where a position's frame comes from: a decoded-frame store and its (file, frame) key. */
interface FrameSource {
  store: FrameStore;
  a: number;
  b: number;
}

function seriesKey(f: FileEntry | null): string | null {
  return f ? (f.series_instance_uid ?? `file:${f.index}`) : null;
}

export class ViewportState implements CineTarget {
  private readonly ctx: ViewerContext;
  /** Unique among the layout's viewports (the first one is 0); names its help text and prefetches. */
  readonly id: number;
  /** The file shown (an index of `/api/files`), or null for an empty viewport. */
  fileIndex = $state<number | null>(null);
  info = $state.raw<FileInfo | null>(null);
  frameIndex = $state(0);
  /** The newest decoded frame of this file (kept on screen while the next one loads). */
  raw = $state.raw<RawFrame | null>(null);
  frameError = $state<string | null>(null);
  loading = $state(false);
  overlay = $state.raw<Uint8Array | null>(null);
  /** What this viewport shows of the session's overlays (MPR planes share their first plane's). */
  overlays = new OverlayView();

  orientation = $state<Orientation>({ ...UPRIGHT });
  placement = $state<Placement | null>(null);
  /** The user's Invert (MONOCHROME1 is inverted on top of it). */
  invert = $state(false);
  choice = $state<WindowChoice>('default');
  manual = $state<Window>({ center: 0, width: 1 });
  rendererKind = $state('');
  /** The canvas size (CSS px), set by its component: its fitted view depends on it (linked pan). */
  canvas = $state.raw<Size>({ width: 0, height: 0 });

  // ---- stacks (a series scrolled as one image; MPR planes) -----------------------------------
  /** The stack shown, by id (null: the file's own frames). */
  stackId = $state<string | null>(null);
  /** The stack axis shown: 0 its slices, 1 and 2 the reformats (MPR). */
  axis = $state<Axis>(0);
  /** The plane shown on that axis; on axis 0 slice k is the file frame `stack.slices[k]`. */
  slice = $state(0);
  /** The viewport's name in the MPR layout ("Axial", …), else null. */
  planeLabel = $state<string | null>(null);
  /** The MPR layout this viewport is one plane of (crosshair, linked window), else null. */
  mpr = $state.raw<Mpr | null>(null);
  /** Stats-only regions (Ellipse). */
  readonly regions = new Regions();

  readonly cine: Cine;
  readonly rois: Rois;

  readonly file = $derived.by<FileEntry | null>(() => this.ctx.session.file(this.fileIndex));
  readonly frameCount = $derived(Math.max(1, this.info?.frame_count ?? this.file?.frame_count ?? 1));
  readonly stack = $derived.by<Stack | null>(() => (this.stackId === null ? null : (this.ctx.stacks.byId.get(this.stackId) ?? null)));
  /** What the frame bar, wheel, keys and cine move through: the stack's planes, else the file's frames. */
  readonly position = $derived(this.stackId !== null ? this.slice : this.frameIndex);
  readonly positionCount = $derived.by(() => {
    const s = this.stack;
    if (this.stackId === null) return this.frameCount;
    if (!s) return 1;
    return this.axis === 0 ? s.slice_count : s.volume ? planeCount(s.volume, this.axis) : 1;
  });
  /** The volume geometry of what is shown (a stack's, else the stack of the file), for orientation letters. */
  readonly volume = $derived.by(() => (this.stack ?? this.ctx.stacks.stackOf(this.fileIndex))?.volume ?? null);
  /** Screen height of an image row per column width: a stack plane's physical aspect (1 for a plain file). */
  readonly aspect = $derived(this.stack?.volume ? aspectOf(planeSpacing(this.stack.volume, this.axis)) : 1);
  /** Millimetres per unit of the view's x and y (display rows), null without a pixel spacing. */
  readonly displaySpacing = $derived.by<DisplaySpacing | null>(() => {
    const sp = this.stack?.volume ? planeSpacing(this.stack.volume, this.axis) : this.info?.pixel_spacing;
    if (!sp || !(sp[0] > 0) || !(sp[1] > 0)) return null;
    return { x: sp[1], y: sp[0] / this.aspect };
  });
  /**
   * Where the positions it scrolls through lie in patient space (slice linking): a stack's
   * slices, or the frames of a multi-frame file whose stack has a volume; null otherwise (and on
   * reformat planes).
   */
  readonly geometry = $derived.by<SliceGeometry | null>(() => {
    if (this.axis !== 0) return null;
    const s = this.stack ?? this.ctx.stacks.stackOf(this.fileIndex);
    if (!s?.volume) return null;
    const { normal, centres } = volumeCentres(s.volume);
    const first = this.ctx.session.files.find((f) => f.index === s.slices[0]?.[0]);
    const space = first?.frame_of_reference_uid ?? (s.patient_id === null ? null : `patient:${s.patient_id}`);
    if (this.stackId !== null) return { normal, centres, space };
    // the file's own frames: frame p is the stack slice that shows it
    if (this.frameCount < 2) return null;
    const byFrame: typeof centres = [];
    s.slices.forEach(([f, fr], k) => {
      if (f === this.fileIndex && centres[k]) byFrame[fr] = centres[k];
    });
    for (let p = 0; p < this.frameCount; p++) if (!byFrame[p]) return null;
    return { normal, centres: byFrame, space };
  });
  /** The plane on screen, as a key (stats-only regions belong to one). */
  readonly planeKey = $derived(this.stackId !== null ? `${this.stackId}/${this.axis}/${this.slice}` : `f${this.fileIndex}/${this.frameIndex}`);
  /** The file may have frames to show: ask the server for them (it explains when it cannot). */
  readonly tryPixels = $derived.by(() => {
    const f = this.file;
    if (!f || !f.has_pixels || f.support_state === 'metadata_only') return false;
    return f.support_state === 'renderable' || (this.info?.frame_count ?? f.frame_count) > 0;
  });
  /** An image is (or is about to be) shown: the image controls apply. */
  readonly showsImage = $derived(
    this.tryPixels && !(this.raw === null && (this.frameError !== null || this.file?.support_state === 'unsupported')),
  );
  readonly colour = $derived(this.raw ? isColour(this.raw) : false);
  readonly monochrome1 = $derived((this.raw?.photometric ?? this.file?.photometric_interpretation ?? '') === 'MONOCHROME1');
  readonly defaultWindow = $derived<Window>(
    this.raw?.defaultWindow ??
      this.info?.default_window ??
      this.file?.default_window ??
      (this.raw && !this.colour ? this.percentileOf(this.raw) : { center: 127.5, width: 256 }),
  );
  readonly effective = $derived.by<{ win: Window; mode: WindowMode }>(() =>
    effectiveWindow(this.choice, {
      manual: this.manual,
      presets: this.ctx.session.presets,
      filePresets: this.info?.window_presets ?? [],
      defaultWindow: this.defaultWindow,
      fullRange: this.raw && !this.colour ? modalityRange(frameRange(this.raw), this.raw.slope, this.raw.intercept) : null,
    }),
  );
  readonly windowText = $derived(this.colour ? 'Colour' : formatWindow(this.effective.win));
  readonly fpsChoices = $derived(fpsChoices(this.info?.frame_time_ms));
  /** The text over the image when there is no image to show, or why a frame is missing. */
  readonly message = $derived.by<string | null>(() => {
    const s = this.ctx.session;
    if (!s.firstAnswer) return null;
    if (s.files.length === 0) return s.scan.complete ? 'No DICOM files were found.' : 'Scanning for DICOM files…';
    const f = this.file;
    if (!f) return this.id === 0 ? 'Choose a file in the navigator.' : 'Empty viewport: choose a file in the navigator.';
    // a reformat that cannot be built is not a problem of the file
    if (this.axis !== 0 && this.stack && !this.stack.volume)
      return 'No reformat: this stack has no volume (its slices need positions, one orientation and a pixel spacing, in monochrome).';
    if (this.axis !== 0 && this.frameError !== null && this.raw === null) return `No reformat: ${this.frameError}.`;
    if (!this.showsImage) {
      if (this.tryPixels && this.frameError === null) return null; // still asking
      return describeFile(f, this.info, this.frameError).join('\n');
    }
    if (this.frameError) return `Frame ${this.frameIndex + 1} could not be loaded: ${this.frameError}`;
    return null;
  });
  readonly corners = $derived.by(() => {
    const f = this.file;
    const r = this.raw;
    const shows = this.showsImage;
    return {
      tl: f ? `${f.label}${f.series_description ? '\n' + f.series_description : ''}` : '',
      tr:
        f && shows
          ? `${this.stackId !== null ? 'Slice' : 'Frame'} ${this.position + 1} / ${this.positionCount}${r ? `\n${r.columns} × ${r.rows}` : ''}${this.info ? `\n${syntaxName(this.info)}` : ''}`
          : '',
      br: shows ? `${this.windowText}${this.monochrome1 ? ' · MONOCHROME1' : ''}${this.invert ? ' · inverted' : ''}` : '',
    };
  });

  private dispose: () => void;

  constructor(ctx: ViewerContext, id: number) {
    this.ctx = ctx;
    this.id = id;
    this.cine = new Cine(this);
    this.rois = new Rois(ctx.session.api, ctx.edits);
    this.dispose = $effect.root(() => {
      $effect(() => {
        const f = this.fileIndex;
        return untrack(() => this.followFile(f));
      });
      $effect(() => this.loadFrame(this.tryPixels ? this.source(this.position) : null));
      $effect(() => this.loadOverlay(this.fileIndex, this.frameIndex, (this.info?.has_overlay ?? false) && this.axis === 0));
    });
  }

  destroy(): void {
    this.cine.stop();
    this.saveView();
    this.ctx.store.release(this.id);
    this.dispose();
  }

  // ---- what is shown -------------------------------------------------------------------------
  /** Show file `i` with the view it had last (or fitted, upright, with its series' window). */
  open(i: number | null): void {
    if (i === this.fileIndex && this.stackId === null) return;
    this.cine.stop();
    this.stackId = null;
    this.axis = 0;
    this.regions.clear();
    this.saveView();
    this.fileIndex = i;
    const saved = i === null ? undefined : this.ctx.fileViews.get(i);
    this.frameIndex = saved?.frame ?? 0;
    this.orientation = saved?.orientation ?? { ...UPRIGHT };
    this.placement = saved?.placement ?? null;
    this.invert = saved?.invert ?? false;
    const sw = this.ctx.seriesWindows.get(seriesKey(this.ctx.session.file(i)) ?? '');
    this.choice = sw?.choice ?? 'default';
    if (sw) this.manual = { ...sw.manual };
    this.raw = null;
    this.overlay = null;
    this.info = null;
    this.frameError = null;
  }

  private saveView(): void {
    // a reformat's view (flipped, its own zoom) is not the view of the file its crosshair is in
    if (this.fileIndex === null || this.axis !== 0) return;
    this.ctx.fileViews.set(this.fileIndex, {
      frame: this.frameIndex,
      orientation: { ...this.orientation },
      placement: this.placement,
      invert: this.invert,
    });
  }

  /** Open a stack (a series as one image) at slice `k`: its slices' files and frames in turn. */
  openStack(stack: Stack, k = 0): void {
    const at = stack.slices[k] ?? stack.slices[0];
    if (!at) return;
    this.open(at[0]);
    this.stackId = stack.id;
    this.axis = 0;
    this.setSlice(k);
  }

  /** Show plane `k` of a stack axis (the MPR layout's planes); `file`/`frame`: the slice the crosshair is in. */
  showPlane(stack: Stack, axis: Axis, k: number, file: number, frame: number): void {
    this.stackId = stack.id;
    this.axis = axis;
    this.slice = k;
    this.fileIndex = file;
    this.frameIndex = frame;
  }

  /** The slice of the stack that shows `file`'s `frame` (0 when not in it). */
  static sliceOf(stack: Stack, file: number | null, frame: number): number {
    return Math.max(0, stack.slices.findIndex(([f, fr]) => f === file && fr === frame));
  }

  private setSlice(k: number): void {
    const s = this.stack;
    const n = this.positionCount;
    this.slice = Math.max(0, Math.min(n - 1, k));
    const at = s && this.axis === 0 ? s.slices[this.slice] : undefined;
    if (at) {
      this.fileIndex = at[0];
      this.frameIndex = at[1];
    }
  }

  // ---- frames --------------------------------------------------------------------------------
  step(delta: number): void {
    if (this.cine.playing) this.cine.stop();
    this.cine.direction = delta < 0 ? -1 : 1;
    this.goto(this.position + delta);
  }

  /** Go to a position: a frame of the file, or a plane of the stack. */
  goto(position: number): void {
    if (this.stackId !== null) this.setSlice(position);
    else this.frameIndex = Math.max(0, Math.min(this.frameCount - 1, position));
  }

  show(position: number, raw: RawFrame): void {
    this.raw = raw;
    this.goto(position);
  }

  get playable(): boolean {
    return this.fileIndex !== null;
  }

  /** Where position `p`'s frame comes from: the file's frame, a stack slice's file frame, or a reformat plane. */
  private source(p: number): FrameSource | null {
    const s = this.stack;
    if (this.stackId === null) return this.fileIndex === null ? null : { store: this.ctx.store, a: this.fileIndex, b: p };
    if (!s) return null;
    if (this.axis === 0) {
      const at = s.slices[p];
      return at ? { store: this.ctx.store, a: at[0], b: at[1] } : null;
    }
    if (!s.volume) return null; // nothing to ask for (the message says why)
    return { store: this.ctx.stacks.reformats, a: this.ctx.stacks.code(s.id, this.axis), b: p };
  }

  cached(p: number): RawFrame | undefined {
    const src = this.source(p);
    return src ? src.store.get(src.a, src.b) : undefined;
  }

  load(p: number): Promise<RawFrame> {
    const src = this.source(p);
    return src ? src.store.load(src.a, src.b) : Promise.reject(new Error('nothing to show'));
  }

  prefetch(): void {
    if (this.fileIndex === null || this.positionCount <= 1) return;
    const bytes = this.raw ? this.raw.data.byteLength : (this.file?.rows ?? 512) * (this.file?.columns ?? 512) * 2;
    const ahead = this.cine.upcoming(this.position, this.positionCount);
    const items = ahead.map((p) => this.source(p)).filter((x): x is FrameSource => x !== null);
    if (!items.length) return;
    items[0].store.prefetchFrames(
      items.map((x) => [x.a, x.b]),
      bytes,
      this.id,
    );
  }

  /** Region statistics of the plane shown: a stack's slice (any axis), else the file's frame. */
  statsOf(shape: RegionShape, box: RegionBox, signal?: AbortSignal): Promise<RegionStats> {
    const api = this.ctx.session.api;
    if (this.stackId !== null) return api.sliceStats(this.stackId, this.slice, this.axis, shape, box, signal);
    if (this.fileIndex === null) return Promise.reject(new Error('no image'));
    return api.frameStats(this.fileIndex, this.frameIndex, shape, box, signal);
  }

  // ---- window --------------------------------------------------------------------------------
  private rememberWindow(): void {
    const k = seriesKey(this.file);
    if (k) this.ctx.seriesWindows.set(k, { choice: this.choice, manual: { ...this.manual } });
  }

  setChoice(c: WindowChoice): void {
    if (c === 'manual') return;
    this.choice = c;
    this.rememberWindow();
  }

  setManual(w: Window): void {
    this.manual = w;
    this.choice = 'manual';
    this.rememberWindow();
  }

  private percentileOf(f: RawFrame): Window {
    // one window for a whole stack (its first file's key, negated), so scrolling does not flicker
    const s = this.stack;
    const k = s && s.slices.length ? -2 - s.slices[0][0] : (this.fileIndex ?? -1);
    let w = this.ctx.percentiles.get(k);
    if (!w) {
      w = percentileWindow(f.data, f.rows * f.columns, f.slope, f.intercept);
      this.ctx.percentiles.set(k, w);
    }
    return w;
  }

  // ---- view ----------------------------------------------------------------------------------
  fit(): void {
    this.placement = null;
  }

  resetView(): void {
    this.placement = null;
    this.orientation = { ...UPRIGHT };
    this.invert = false;
    this.choice = 'default';
    this.rememberWindow();
  }

  rotate(turns: number): void {
    this.orientation = turn(this.orientation, turns);
  }

  flip(axis: 'h' | 'v'): void {
    this.orientation = mirror(this.orientation, axis);
  }

  toggleInvert(): void {
    this.invert = !this.invert;
  }

  /** Image size (rows, columns) of the frame, else of the file. */
  get dims(): { rows: number; columns: number } {
    return { rows: this.raw?.rows ?? this.file?.rows ?? 0, columns: this.raw?.columns ?? this.file?.columns ?? 0 };
  }

  selectRoi(i: number): void {
    const frame = this.rois.select(i, this.frameIndex);
    if (frame !== null) this.frameIndex = frame;
  }

  // ---- loading (run by the effects) ---------------------------------------------------------
  private followFile(f: number | null): (() => void) | undefined {
    const stopRois = this.rois.load(this.axis === 0 ? f : null);
    if (f === null) return stopRois;
    let live = true;
    this.ctx.session.api
      .info(f)
      .then((i) => {
        if (!live) return;
        this.info = i;
        if (!this.cine.playing) this.cine.rateFrom(i.frame_time_ms);
      })
      .catch(() => undefined);
    return () => {
      live = false;
      stopRois();
    };
  }

  private loadFrame(src: FrameSource | null): (() => void) | undefined {
    if (src === null) {
      this.loading = false;
      return;
    }
    const { store, a: f, b: fr } = src;
    const hit = store.get(f, fr);
    if (hit) {
      this.raw = hit;
      this.frameError = null;
      this.loading = false;
      if (!untrack(() => this.cine.playing)) untrack(() => this.prefetch());
      return;
    }
    this.loading = true;
    let live = true;
    store
      .load(f, fr)
      .then((r) => {
        if (!live) return;
        this.raw = r;
        this.frameError = null;
        if (!this.cine.playing) this.prefetch();
      })
      .catch((e: unknown) => {
        if (!live || e instanceof DOMException) return;
        this.frameError = e instanceof ApiError ? humanError(e.message, e.code) : humanError(String(e));
      })
      .finally(() => {
        if (live) this.loading = false;
      });
    return () => {
      live = false;
    };
  }

  private loadOverlay(f: number | null, fr: number, has: boolean): (() => void) | undefined {
    if (f === null || !has) {
      this.overlay = null;
      return;
    }
    const cache = this.ctx.overlays;
    const k = `${f}:${fr}`;
    if (cache.has(k)) {
      this.overlay = cache.get(k) ?? null;
      return;
    }
    let live = true;
    this.ctx.session.api
      .overlay(f, fr)
      .then((o) => {
        if (cache.size > 64) cache.delete(cache.keys().next().value as string);
        cache.set(k, o);
        if (live) this.overlay = o;
      })
      .catch(() => undefined);
    return () => {
      live = false;
    };
  }
}

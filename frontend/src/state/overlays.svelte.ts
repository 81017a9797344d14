/**
 * The overlays of the session (one for the page): the server's list and the label maps / segment
 * masks of file frames, cached (LRU by bytes) and prefetched around the frame shown, like decoded
 * frames. What a viewport shows (per overlay, per segment, opacity, outline, the O key) is its own
 * `OverlayView`: a prediction in one viewport and the ground truth in the next. What
 * is fetched follows `overlayRoutes` (one `labels` per frame while nothing hidden can hide a
 * lower segment); the frame's layer is the composed stack of its shown segments
 * (`composeSegments`), rebuilt on a toggle; opacity is only the renderers' uniform (`style`).
 */

import type { Api } from '../lib/api';
import {
  composeSegments,
  covers,
  fetchCounts,
  fetchOverlayMap,
  fetchOverlays,
  overlayRoutes,
  overlaySources,
  reformatLabels,
  segmentsAt,
  shownSegments,
  type LabelMap,
  type OverlayCounts,
  type OverlayInfo,
  type OverlaySettings,
  type SegmentImage,
  type SegmentSource,
  type SegmentStyle,
} from '../lib/overlays';

/** Bytes of maps kept (per overlay, file, frame, route; a reformat plane needs a whole stack's). */
const CACHE_BYTES = 192 * 1024 * 1024;
/** Composed frame layers and reformat planes kept. */
const LAYERS_KEPT = 64;
/** Frames fetched ahead and behind the one shown. */
const PREFETCH = 2;

/** What a viewport draws for one file frame (or reformat plane). */
export interface FrameLayer {
  /** The shown segments composed (colour and coverage per pixel). */
  image: SegmentImage;
  /** Each overlay's layers (for the probe). */
  sources: SegmentSource[][];
}

/** What one viewport shows of the overlays (the panel edits the active viewport's). */
export class OverlayView {
  /** The O key: every overlay on or off. */
  all = $state(true);
  hiddenOverlays = $state.raw<ReadonlySet<string>>(new Set());
  hiddenSegments = $state.raw<ReadonlySet<string>>(new Set());
  opacity = $state(0.5);
  outline = $state(false);

  readonly settings = $derived<OverlaySettings>({
    all: this.all,
    hiddenOverlays: this.hiddenOverlays,
    hiddenSegments: this.hiddenSegments,
    opacity: this.opacity,
    outline: this.outline,
  });
  /** What a composed layer depends on besides the maps (not opacity: that is the blend's). */
  readonly stamp = $derived(JSON.stringify([this.all, [...this.hiddenOverlays].sort(), [...this.hiddenSegments].sort(), this.outline]));
  readonly style = $derived<SegmentStyle>({ opacity: this.opacity });

  /** A new viewport starts as the one it comes from shows. */
  copyFrom(other: OverlayView): void {
    this.all = other.all;
    this.hiddenOverlays = other.hiddenOverlays;
    this.hiddenSegments = other.hiddenSegments;
    this.opacity = other.opacity;
    this.outline = other.outline;
  }

  toggleAll(): void {
    this.all = !this.all;
  }

  setOverlay(id: string, shown: boolean): void {
    const s = new Set(this.hiddenOverlays);
    if (shown) s.delete(id);
    else s.add(id);
    this.hiddenOverlays = s;
  }

  setSegment(id: string, n: number, shown: boolean): void {
    const s = new Set(this.hiddenSegments);
    const k = `${id}:${n}`;
    if (shown) s.delete(k);
    else s.add(k);
    this.hiddenSegments = s;
  }
}

export class OverlayLayers {
  list = $state.raw<OverlayInfo[]>([]);
  complete = $state(false);
  error = $state<string | null>(null);
  counts = $state.raw<Record<string, OverlayCounts | string>>({});
  /** Bumped when a map arrives (the viewports' layer is derived from it). */
  private version = $state(0);
  private api: Api | null = null;
  private maps = new Map<string, LabelMap | null>();
  private loading = new Map<string, Promise<void>>();
  /** Composed layers by frame / plane and the settings (stamp) they were composed for. */
  private merged = new Map<string, FrameLayer | null>();
  /** The last layer composed per frame / plane, whatever the settings (kept during a toggle). */
  private latest = new Map<string, FrameLayer | null>();
  private bytes = 0;
  private timer = 0;

  /** Start listing (again until the scan is complete); idempotent. */
  attach(api: Api): void {
    if (this.api === api) return;
    this.api = api;
    void this.poll();
  }

  private async poll(): Promise<void> {
    const api = this.api;
    if (!api) return;
    try {
      const body = await fetchOverlays(api);
      if (JSON.stringify(body.overlays) !== JSON.stringify(this.list)) {
        this.list = body.overlays;
        this.maps.clear();
        this.bytes = 0;
        this.merged.clear();
        this.latest.clear();
        this.counts = {};
        this.version++;
      }
      this.complete = body.scan_complete !== false;
      this.error = null;
    } catch (e) {
      this.error = e instanceof Error ? e.message : String(e);
    }
    if (!this.complete) this.timer = window.setTimeout(() => void this.poll(), 1000);
  }

  stop(): void {
    clearTimeout(this.timer);
  }

  /** The overlays that cover a file frame. */
  covering(file: number | null, frame: number): OverlayInfo[] {
    return file === null ? [] : this.list.filter((o) => covers(o, file, frame));
  }

  /**
   * The layer of a file frame, or null when nothing shown covers it; asks for it and its
   * neighbours (the file's frames around it, or `around`: a stack's slices as [file, frame]).
   * After a toggle it keeps the frame's previous layer until the maps it needs are here.
   * Reactive (reads `version` and the view's settings).
   */
  layer(view: OverlayView, file: number | null, frame: number, frameCount: number, around: readonly [number, number][] | null = null): FrameLayer | null {
    void this.version;
    const { stamp, settings } = view;
    if (file === null || !this.list.length) return null;
    if (around) for (const [f, fr] of around) this.request(settings, f, fr);
    else
      for (let d = 1; d <= PREFETCH; d++) {
        if (frame + d < frameCount) this.request(settings, file, frame + d);
        if (frame - d >= 0) this.request(settings, file, frame - d);
      }
    const key = `${file}:${frame}`;
    const kept = this.merged.get(`${stamp}|${key}`);
    if (kept !== undefined) return kept;
    if (!this.request(settings, file, frame)) return this.latest.get(key) ?? null;
    const sources = this.list.map((o) => (covers(o, file, frame) ? this.sources(settings, o, file, frame) : []));
    const layer = this.compose(sources, view.outline);
    this.keep(key, stamp, layer);
    return layer;
  }

  private keep(key: string, stamp: string, layer: FrameLayer | null): void {
    for (const [map, k] of [
      [this.merged, `${stamp}|${key}`],
      [this.latest, key],
    ] as const) {
      map.delete(k);
      map.set(k, layer);
      while (map.size > LAYERS_KEPT) map.delete(map.keys().next().value!);
    }
  }

  /**
   * The layer of a reformat plane (axis 1 or 2, plane k) of a stack, built here from the maps of
   * every slice (the server has no reformat route for overlays); null until all arrived.
   */
  plane(view: OverlayView, stack: { id: string; slices: [number, number][] }, rows: number, columns: number, axis: 1 | 2, k: number): FrameLayer | null {
    void this.version;
    const { stamp, settings } = view;
    if (!this.list.length) return null;
    const key = `${stack.id}/${axis}/${k}`;
    const kept = this.merged.get(`${stamp}|${key}`);
    if (kept !== undefined) return kept;
    let ready = true;
    for (const [f, fr] of stack.slices) if (!this.request(settings, f, fr)) ready = false;
    if (!ready) return this.latest.get(key) ?? null;
    const sources = this.list.map((o) => {
      const shown = shownSegments(o, settings);
      if (!shown.length || !stack.slices.some(([f, fr]) => covers(o, f, fr))) return [];
      const perSlice = stack.slices.map(([f, fr]) => this.routeMaps(settings, o, f, fr));
      const count = o.fractional ? shown.length : 1;
      const planes: (LabelMap | null)[] = [];
      for (let i = 0; i < count; i++)
        planes.push(
          reformatLabels(
            perSlice.map((m) => m[i] ?? null),
            rows,
            columns,
            axis,
            k,
          ),
        );
      return overlaySources(o, shown, planes);
    });
    const layer = this.compose(sources, view.outline);
    this.keep(key, stamp, layer);
    return layer;
  }

  private compose(sources: SegmentSource[][], outline: boolean): FrameLayer | null {
    const flat = sources.flat();
    if (!flat.length) return null;
    const { rows, columns } = flat[0].map;
    return { image: composeSegments(flat, rows, columns, outline), sources };
  }

  private mapKey(id: string, file: number, frame: number, route: string): string {
    return `${id}:${file}:${frame}:${route}`;
  }

  /** The routes an overlay needs on a frame now (`overlayRoutes`). */
  private routes(settings: OverlaySettings, o: OverlayInfo, file: number, frame: number): string[] {
    const full = this.maps.get(this.mapKey(o.id, file, frame, 'labels'));
    return overlayRoutes(o, shownSegments(o, settings), full);
  }

  /** The maps of those routes (null where missing). */
  private routeMaps(settings: OverlaySettings, o: OverlayInfo, file: number, frame: number): (LabelMap | null)[] {
    return this.routes(settings, o, file, frame).map((r) => this.maps.get(this.mapKey(o.id, file, frame, r)) ?? null);
  }

  private sources(settings: OverlaySettings, o: OverlayInfo, file: number, frame: number): SegmentSource[] {
    return overlaySources(o, shownSegments(o, settings), this.routeMaps(settings, o, file, frame));
  }

  /** Fetch what every covering overlay needs on a frame; true when all is here. */
  private request(settings: OverlaySettings, file: number, frame: number): boolean {
    let ready = true;
    for (const o of this.covering(file, frame))
      for (const route of this.routes(settings, o, file, frame)) if (!this.want(o.id, file, frame, route)) ready = false;
    return ready;
  }

  private want(id: string, file: number, frame: number, route: string): boolean {
    const k = this.mapKey(id, file, frame, route);
    if (this.maps.has(k)) {
      const v = this.maps.get(k)!;
      this.maps.delete(k); // LRU: re-insert as newest
      this.maps.set(k, v);
      return true;
    }
    const api = this.api;
    if (!api || this.loading.has(k)) return false;
    const list = this.list;
    const p = fetchOverlayMap(api, id, file, frame, route)
      .then(
        (m) => m as LabelMap | null,
        () => null,
      )
      .then((m) => {
        this.loading.delete(k);
        if (list !== this.list) return;
        this.maps.set(k, m);
        this.bytes += m ? m.data.byteLength : 0;
        while (this.bytes > CACHE_BYTES && this.maps.size > 1) {
          const [old, v] = this.maps.entries().next().value!;
          this.maps.delete(old);
          this.bytes -= v ? v.data.byteLength : 0;
        }
        this.version++;
      });
    this.loading.set(k, p);
    return false;
  }

  /** The probe's text for a pixel of a layer: "Liver, Tumour 40%" (empty when none). */
  probe(layer: FrameLayer | null, row: number, column: number): string {
    if (!layer) return '';
    return segmentsAt(this.list, layer.sources, row, column)
      .map((s) => (s.fraction === null ? s.segment.label : `${s.segment.label} ${Math.round(s.fraction * 100)}%`))
      .join(', ');
  }

  /** Load an overlay's counts once (shown in the panel). */
  loadCounts(id: string): void {
    const api = this.api;
    if (!api || id in this.counts) return;
    this.counts = { ...this.counts, [id]: 'loading' };
    fetchCounts(api, id).then(
      (c) => (this.counts = { ...this.counts, [id]: c }),
      (e: unknown) => (this.counts = { ...this.counts, [id]: `Counts failed: ${e instanceof Error ? e.message : String(e)}` }),
    );
  }
}

/**
 * What a viewport draws: the layer of the file frame it shows (stack slices prefetched around
 * the one shown). While its next frame is still loading it keeps the layer of the frame still on
 * screen (`keep`), so an overlay is never drawn on another frame's image. Reformat planes
 * (axis 1, 2) are built from the maps of all the stack's slices (`OverlayLayers.plane`).
 */
export function viewportLayer(
  layers: OverlayLayers,
  vp: {
    overlays: OverlayView;
    axis: number;
    fileIndex: number | null;
    frameIndex: number;
    frameCount: number;
    loading: boolean;
    slice: number;
    stack: { id: string; slices: [number, number][]; volume: { shape: [number, number, number] } | null } | null;
  },
  keep: { layer: FrameLayer | null },
): FrameLayer | null {
  const s = vp.stack;
  let layer: FrameLayer | null;
  if (vp.axis === 1 || vp.axis === 2) {
    layer = s?.volume ? layers.plane(vp.overlays, s, s.volume.shape[1], s.volume.shape[2], vp.axis, vp.slice) : null;
  } else {
    const around = s ? s.slices.slice(Math.max(0, vp.slice - PREFETCH), vp.slice + PREFETCH + 1) : null;
    layer = layers.layer(vp.overlays, vp.fileIndex, vp.frameIndex, vp.frameCount, around);
  }
  if (vp.loading) return keep.layer;
  return (keep.layer = layer);
}

/** The page's overlays (one server session per page). */
export const overlayLayers = new OverlayLayers();

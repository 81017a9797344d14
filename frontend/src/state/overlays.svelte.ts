/**
 * The overlays of the session (one for the page): the server's list, what the user shows (per
 * overlay, per segment, opacity, outline, the O key), and the label maps of file frames, cached
 * (LRU by count) and prefetched around the frame shown, like decoded frames. Toggles only
 * rebuild the colour table (`style`), never refetch.
 */

import type { Api } from '../lib/api';
import {
  buildSegmentLut,
  covers,
  fetchCounts,
  fetchLabels,
  fetchOverlays,
  labelOffsets,
  mergeLabels,
  outlineMask,
  reformatLabels,
  segmentsAt,
  type LabelMap,
  type MergedLabels,
  type OverlayCounts,
  type OverlayInfo,
  type SegmentStyle,
} from '../lib/overlays';

/** Bytes of label maps kept (per overlay, file, frame; a reformat plane needs a whole stack's). */
const CACHE_BYTES = 192 * 1024 * 1024;
/** Merged frame layers and reformat planes kept. */
const LAYERS_KEPT = 64;
/** Frames fetched ahead and behind the one shown. */
const PREFETCH = 2;

/** What a viewport draws for one file frame. */
export interface FrameLayer {
  labels: MergedLabels;
  /** The outline pixels of `labels` (computed once per merged map, for the CPU path). */
  outline: Uint8Array;
  /** Each overlay's own map (null: not covering), for the probe. */
  maps: (LabelMap | null)[];
}

export class OverlayLayers {
  list = $state.raw<OverlayInfo[]>([]);
  complete = $state(false);
  error = $state<string | null>(null);
  /** The O key: every overlay on or off. */
  all = $state(true);
  hiddenOverlays = $state.raw<ReadonlySet<string>>(new Set());
  hiddenSegments = $state.raw<ReadonlySet<string>>(new Set());
  opacity = $state(0.5);
  outline = $state(false);
  counts = $state.raw<Record<string, OverlayCounts | string>>({});
  /** Bumped when a label map arrives (the viewports' layer is derived from it). */
  private version = $state(0);
  private api: Api | null = null;
  private maps = new Map<string, LabelMap | null>();
  private loading = new Map<string, Promise<void>>();
  private merged = new Map<string, FrameLayer | null>();
  private bytes = 0;
  private timer = 0;

  readonly offsets = $derived(labelOffsets(this.list));
  readonly style = $derived.by<SegmentStyle>(() => ({
    lut: buildSegmentLut(this.list, {
      all: this.all,
      hiddenOverlays: this.hiddenOverlays,
      hiddenSegments: this.hiddenSegments,
      opacity: this.opacity,
      outline: this.outline,
    }),
    outline: this.outline,
  }));

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

  /** The overlays that cover a file frame. */
  covering(file: number | null, frame: number): OverlayInfo[] {
    return file === null ? [] : this.list.filter((o) => covers(o, file, frame));
  }

  /**
   * The layer of a file frame, or null while it loads or when nothing covers it; asks for it and
   * its neighbours (the file's frames around it, or `around`: a stack's slices as [file, frame]).
   * Reactive (reads `version`).
   */
  layer(file: number | null, frame: number, frameCount: number, around: readonly [number, number][] | null = null): FrameLayer | null {
    void this.version;
    if (file === null || !this.list.length) return null;
    if (around) for (const [f, fr] of around) this.request(f, fr);
    else
      for (let d = 1; d <= PREFETCH; d++) {
        if (frame + d < frameCount) this.request(file, frame + d);
        if (frame - d >= 0) this.request(file, frame - d);
      }
    const key = `${file}:${frame}`;
    if (this.merged.has(key)) return this.merged.get(key) ?? null;
    const ready = this.request(file, frame);
    if (!ready) return null;
    const maps = this.list.map((o) => this.maps.get(`${o.id}:${key}`) ?? null);
    const first = maps.find((m) => m !== null);
    const layer = first ? this.build(maps, first) : null;
    this.keep(key, layer);
    return layer;
  }

  private keep(key: string, layer: FrameLayer | null): void {
    this.merged.set(key, layer);
    while (this.merged.size > LAYERS_KEPT) this.merged.delete(this.merged.keys().next().value!);
  }

  /**
   * The layer of a reformat plane (axis 1 or 2, plane k) of a stack, built here from the label
   * maps of every slice (the server has no reformat route for overlays); null until all arrived.
   */
  plane(stack: { id: string; slices: [number, number][] }, rows: number, columns: number, axis: 1 | 2, k: number): FrameLayer | null {
    void this.version;
    if (!this.list.length) return null;
    const key = `${stack.id}/${axis}/${k}`;
    if (this.merged.has(key)) return this.merged.get(key) ?? null;
    let ready = true;
    for (const [f, fr] of stack.slices) if (!this.request(f, fr)) ready = false;
    if (!ready) return null;
    const maps = this.list.map((o) => {
      if (!stack.slices.some(([f, fr]) => covers(o, f, fr))) return null;
      return reformatLabels(
        stack.slices.map(([f, fr]) => this.maps.get(`${o.id}:${f}:${fr}`) ?? null),
        rows,
        columns,
        axis,
        k,
      );
    });
    const first = maps.find((m) => m !== null);
    const layer = first ? this.build(maps, first) : null;
    this.keep(key, layer);
    return layer;
  }

  private build(maps: (LabelMap | null)[], first: LabelMap): FrameLayer {
    const labels = mergeLabels(maps, this.offsets, first.rows, first.columns);
    return { labels, outline: outlineMask(labels), maps };
  }

  /** Fetch every covering overlay's map of a frame; true when all are here. */
  private request(file: number, frame: number): boolean {
    const api = this.api;
    let ready = true;
    for (const o of this.covering(file, frame)) {
      const k = `${o.id}:${file}:${frame}`;
      if (this.maps.has(k)) {
        const v = this.maps.get(k)!;
        this.maps.delete(k); // LRU: re-insert as newest
        this.maps.set(k, v);
        continue;
      }
      ready = false;
      if (!api || this.loading.has(k)) continue;
      const list = this.list;
      const p = fetchLabels(api, o.id, file, frame)
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
          this.merged.delete(`${file}:${frame}`);
          this.version++;
        });
      this.loading.set(k, p);
    }
    return ready;
  }

  /** The probe's text for a pixel of a layer: "Liver, Tumour" (empty when none). */
  probe(layer: FrameLayer | null, row: number, column: number): string {
    if (!layer) return '';
    return segmentsAt(this.list, layer.maps, row, column)
      .map((s) => s.segment.label)
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
 * (axis 1, 2) are built from the label maps of all the stack's slices (`OverlayLayers.plane`).
 */
export function viewportLayer(
  layers: OverlayLayers,
  vp: {
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
    layer = s?.volume ? layers.plane(s, s.volume.shape[1], s.volume.shape[2], vp.axis, vp.slice) : null;
  } else {
    const around = s ? s.slices.slice(Math.max(0, vp.slice - PREFETCH), vp.slice + PREFETCH + 1) : null;
    layer = layers.layer(vp.fileIndex, vp.frameIndex, vp.frameCount, around);
  }
  if (vp.loading) return keep.layer;
  return (keep.layer = layer);
}

/** The page's overlays (one server session per page). */
export const overlayLayers = new OverlayLayers();

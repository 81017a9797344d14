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
  segmentsAt,
  type LabelMap,
  type MergedLabels,
  type OverlayCounts,
  type OverlayInfo,
  type SegmentStyle,
} from '../lib/overlays';

/** Label maps kept (per overlay, file, frame). */
const CACHE_ENTRIES = 256;
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
   * its neighbours. Reactive (reads `version`).
   */
  layer(file: number | null, frame: number, frameCount: number): FrameLayer | null {
    void this.version;
    if (file === null || !this.list.length) return null;
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
    this.merged.set(key, layer);
    while (this.merged.size > CACHE_ENTRIES / 4) this.merged.delete(this.merged.keys().next().value!);
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
          while (this.maps.size > CACHE_ENTRIES) this.maps.delete(this.maps.keys().next().value!);
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

/** The page's overlays (one server session per page). */
export const overlayLayers = new OverlayLayers();

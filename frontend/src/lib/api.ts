/**
 * The one place that talks HTTP. Types mirror the contract in `spec/api.md` (and the server's
 * own `docs/api.md` for the viewer extensions: presets, overlays, frame time).
 *
 * Every request is relative (`api/...`), so the viewer works under a path prefix, and carries
 * `Authorization: Bearer <token>` when a token is known. The client watches three things and
 * reports them through `onState`: a 401 (the viewer needs its access link), a changed
 * `X-Server-Instance` (the server restarted: indices and ROIs no longer match) and a network
 * failure (the server stopped).
 */

import type { Measurement } from './measure';

export interface Window {
  center: number;
  width: number;
}

export type SupportState = 'renderable' | 'metadata_only' | 'unsupported';

export interface FileEntry {
  index: number;
  path: string;
  label: string;
  has_pixels: boolean;
  frame_count: number;
  rows: number;
  columns: number;
  transfer_syntax_uid: string;
  photometric_interpretation: string | null;
  modality: string | null;
  patient_id: string | null;
  patient_name?: string | null;
  study_instance_uid: string | null;
  study_date: string | null;
  study_description: string | null;
  series_instance_uid: string | null;
  series_number: number | null;
  series_description: string | null;
  /** ViewPosition ("CC", "MLO") and ImageLaterality/Laterality ("R", "L"): the hanging protocol's input. */
  view_position?: string | null;
  laterality?: string | null;
  instance_number?: number | null;
  /** FrameOfReferenceUID: positions of one frame of reference are comparable (slice linking). */
  frame_of_reference_uid?: string | null;
  default_window: Window | null;
  support_state: SupportState;
  support_reason: string | null;
}

export interface FilesResponse {
  files: FileEntry[];
  scan_complete: boolean;
  scanned: number;
  skipped: number;
  filtered: number;
  tunnelled: boolean;
  tunnel_host: string | null;
  server_start_ms: number;
}

export interface Health {
  status: string;
  viewer: { name: string; version: string };
  file_count: number;
  server_start_ms: number;
  masked: boolean;
}

export interface FileInfo {
  frame_count: number;
  rows: number;
  columns: number;
  /** The transfer syntax UID (servers before the UID/name split sent the name here). */
  transfer_syntax: string;
  transfer_syntax_uid: string;
  /** The transfer syntax's readable name, e.g. "Explicit VR Little Endian". */
  transfer_syntax_name?: string | null;
  has_pixels: boolean;
  default_window: Window | null;
  support_state: SupportState;
  support_reason: string | null;
  has_overlay?: boolean;
  frame_time_ms?: number | null;
  pixel_spacing?: number[] | null;
  /** The file's own windows (Window Center/Width values, named by their explanation). */
  window_presets?: Preset[];
}

export interface Preset {
  name: string;
  center: number;
  width: number;
}

export type TagValue =
  | { type: 'string'; value: string }
  | { type: 'number'; value: number }
  | { type: 'numbers'; value: number[]; truncated?: boolean; total?: number }
  | { type: 'binary'; length: number }
  | { type: 'sequence'; items: TagNode[][]; truncated?: boolean; total?: number }
  | { type: 'error'; message: string };

export interface TagNode {
  tag: string;
  vr: string;
  keyword: string;
  value: TagValue;
  private_creator?: string | null;
}

export interface RoiSet {
  num_roi: number;
  roi_coords: number[][];
  roi_frames: number[][];
}

export type Samples = Uint8Array | Int8Array | Uint16Array | Int16Array | Uint32Array | Int32Array;

/** One decoded frame from `/raw`, samples typed by bits allocated and pixel representation. */
export interface RawFrame {
  rows: number;
  columns: number;
  bitsAllocated: number;
  signed: boolean;
  samplesPerPixel: number;
  photometric: string;
  slope: number;
  intercept: number;
  defaultWindow: Window | null;
  data: Samples;
}

/** A stack's volume geometry (docs/api.md "Series stacks and volumes"). */
export interface VolumeInfo {
  /** [slices, rows, columns] */
  shape: [number, number, number];
  /** [slice, row, column] spacing, mm */
  spacing: [number, number, number];
  uniform: boolean;
  origin: [number, number, number];
  /** Row cosines then column cosines. */
  orientation: [number, number, number, number, number, number];
  axis_labels: [string, string, string];
  /** Each slice's distance from slice 0 along the normal, mm (ascending). */
  slice_positions?: number[];
}

/** A series (or multi-frame file) scrolled as one image: slice k is file `slices[k][0]`, frame `slices[k][1]`. */
export interface Stack {
  id: string;
  label: string;
  series_instance_uid: string | null;
  study_instance_uid: string | null;
  patient_id: string | null;
  modality: string | null;
  series_number?: number | null;
  series_description?: string | null;
  rows?: number;
  columns?: number;
  samples_per_pixel?: number;
  slice_count: number;
  slices: [number, number][];
  volume: VolumeInfo | null;
}

export interface SeriesResponse {
  series: Stack[];
  scan_complete: boolean;
}

/** The plane axis of a stack image: 0 the acquired slices, 1 constant row, 2 constant column. */
export type Axis = 0 | 1 | 2;

export type RegionShape = 'rect' | 'ellipse';

/** A half-open pixel box: rows y0 ≤ r < y1, columns x0 ≤ c < x1. */
export interface RegionBox {
  y0: number;
  x0: number;
  y1: number;
  x1: number;
}

export interface RegionStats {
  shape: RegionShape;
  n: number;
  mean: number | null;
  sd: number | null;
  min: number | null;
  max: number | null;
  sum: number | null;
  unit: string | null;
  area_px: number;
  area_mm2: number | null;
  spacing_source: string | null;
}

/** A stack slice as raw samples, with what the slice headers add. */
export interface SliceFrame extends RawFrame {
  /** [row, column] mm from `X-Pixel-Spacing`, when known. */
  pixelSpacing: [number, number] | null;
  /** Axis 0: the file and frame shown (`X-Slice-File`, `X-Slice-Frame`). */
  sliceFile: number | null;
  sliceFrame: number | null;
}

export type ConnectionState = 'ok' | 'unauthorized' | 'restarted' | 'stopped';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

function num(headers: Headers, name: string, fallback: number): number {
  const v = headers.get(name);
  if (v === null || v === '') return fallback;
  const n = Number(v);
  return Number.isFinite(n) ? n : fallback;
}

/** Wrap the bytes of a `/raw` body in the typed array its headers describe (little-endian). */
export function parseRaw(buffer: ArrayBuffer, headers: Headers): RawFrame {
  const rows = num(headers, 'X-Frame-Rows', 0);
  const columns = num(headers, 'X-Frame-Columns', 0);
  const bitsAllocated = num(headers, 'X-Frame-Bits-Allocated', 8);
  const signed = num(headers, 'X-Frame-Pixel-Representation', 0) === 1;
  const samplesPerPixel = num(headers, 'X-Frame-Samples-Per-Pixel', 1);
  const photometric = headers.get('X-Frame-Photometric-Interpretation') ?? 'MONOCHROME2';
  const wc = headers.get('X-Frame-Default-Wc');
  const ww = headers.get('X-Frame-Default-Ww');
  const defaultWindow =
    wc !== null && ww !== null && Number.isFinite(Number(wc)) && Number(ww) > 0
      ? { center: Number(wc), width: Number(ww) }
      : null;
  let data: Samples;
  if (bitsAllocated <= 8) data = signed ? new Int8Array(buffer) : new Uint8Array(buffer);
  else if (bitsAllocated <= 16) {
    const n = buffer.byteLength >> 1;
    data = signed ? new Int16Array(buffer, 0, n) : new Uint16Array(buffer, 0, n);
  } else {
    const n = buffer.byteLength >> 2;
    data = signed ? new Int32Array(buffer, 0, n) : new Uint32Array(buffer, 0, n);
  }
  const expected = rows * columns * samplesPerPixel;
  if (data.length < expected) {
    throw new ApiError(0, 'short_frame', `frame has ${data.length} samples, expected ${expected}`);
  }
  return {
    rows,
    columns,
    bitsAllocated,
    signed,
    samplesPerPixel,
    photometric,
    slope: num(headers, 'X-Frame-Rescale-Slope', 1),
    intercept: num(headers, 'X-Frame-Rescale-Intercept', 0),
    defaultWindow,
    data,
  };
}

/**
 * Float32 samples (`X-Frame-Sample-Format: float`: modality values of a reformat whose slices
 * have different rescales) as int32 with a slope, so every renderer draws them as usual.
 */
function quantizeFloat(f: Float32Array): { data: Int32Array; slope: number } {
  let top = 0;
  for (let i = 0; i < f.length; i++) {
    const a = Math.abs(f[i]);
    if (a > top && Number.isFinite(a)) top = a;
  }
  const slope = top > 0 ? Math.max(top / 2 ** 30, 1e-6) : 1;
  const data = new Int32Array(f.length);
  for (let i = 0; i < f.length; i++) data[i] = Number.isFinite(f[i]) ? Math.round(f[i] / slope) : 0;
  return { data, slope };
}

/** `/raw` of a stack slice: the raw frame plus its spacing and (axis 0) the file frame shown. */
export function parseSlice(buffer: ArrayBuffer, headers: Headers): SliceFrame {
  const float = (headers.get('X-Frame-Sample-Format') ?? '').toLowerCase() === 'float';
  let frame: RawFrame;
  if (float) {
    const h = new Headers(headers);
    h.set('X-Frame-Pixel-Representation', '1');
    const base = parseRaw(buffer, h);
    const q = quantizeFloat(new Float32Array(buffer, 0, buffer.byteLength >> 2));
    frame = { ...base, signed: true, data: q.data, slope: q.slope, intercept: 0 };
  } else frame = parseRaw(buffer, headers);
  const sp = (headers.get('X-Pixel-Spacing') ?? '').split('\\').map(Number);
  const file = headers.get('X-Slice-File');
  const fr = headers.get('X-Slice-Frame');
  return {
    ...frame,
    pixelSpacing: sp.length === 2 && sp.every((v) => Number.isFinite(v) && v > 0) ? [sp[0], sp[1]] : null,
    sliceFile: file !== null && file !== '' ? Number(file) : null,
    sliceFrame: fr !== null && fr !== '' ? Number(fr) : null,
  };
}

function statsQuery(shape: RegionShape, b: RegionBox, axis?: Axis): string {
  const q = new URLSearchParams({ shape, y0: String(b.y0), x0: String(b.x0), y1: String(b.y1), x1: String(b.x1) });
  if (axis !== undefined) q.set('axis', String(axis));
  return q.toString();
}

/** File name from a `Content-Disposition` header, or the fallback. */
export function dispositionFilename(header: string | null, fallback: string): string {
  if (!header) return fallback;
  const m = /filename\*?=(?:UTF-8'')?"?([^";]+)"?/i.exec(header);
  return m ? decodeURIComponent(m[1]) : fallback;
}

export class Api {
  private instance: string | null = null;
  private state: ConnectionState = 'ok';

  constructor(
    private token: string | null,
    private onState: (state: ConnectionState, detail?: string) => void = () => {},
    private fetcher: FetchLike = (input, init) => fetch(input, init),
  ) {}

  get connection(): ConnectionState {
    return this.state;
  }

  private setState(state: ConnectionState, detail?: string): void {
    // "restarted" and "unauthorized" are terminal for this page; "stopped" can recover.
    if (this.state === state) return;
    if (this.state === 'restarted' || this.state === 'unauthorized') return;
    this.state = state;
    this.onState(state, detail);
  }

  /** Send one request; throws `ApiError` for any non-2xx answer. */
  async request(path: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.token) headers.set('Authorization', `Bearer ${this.token}`);
    let res: Response;
    try {
      res = await this.fetcher(`api/${path}`, { ...init, headers, cache: 'no-store' });
    } catch (err) {
      if (err instanceof DOMException && err.name === 'AbortError') throw err;
      this.setState('stopped');
      throw new ApiError(0, 'unreachable', 'the dcmview server cannot be reached');
    }
    const instance = res.headers.get('X-Server-Instance');
    if (instance !== null) {
      if (this.instance === null) this.instance = instance;
      else if (this.instance !== instance) this.setState('restarted');
    }
    if (res.status === 401) {
      this.setState('unauthorized');
    } else if (this.state === 'stopped') {
      this.setState('ok');
    }
    if (!res.ok) {
      let code = 'http_' + res.status;
      let message = `${res.status} ${res.statusText}`;
      try {
        const body = (await res.json()) as { code?: string; error?: string };
        if (body.code) code = body.code;
        if (body.error) message = body.error;
      } catch {
        // not JSON: keep the status line
      }
      throw new ApiError(res.status, code, message);
    }
    return res;
  }

  private async json<T>(path: string, init?: RequestInit): Promise<T> {
    const res = await this.request(path, init);
    return (await res.json()) as T;
  }

  health(): Promise<Health> {
    return this.json('health');
  }

  files(since = 0): Promise<FilesResponse> {
    return this.json(since > 0 ? `files?since=${since}` : 'files');
  }

  info(file: number): Promise<FileInfo> {
    return this.json(`file/${file}/info`);
  }

  presets(): Promise<Preset[]> {
    return this.json('presets');
  }

  async raw(file: number, frame: number, signal?: AbortSignal): Promise<RawFrame> {
    const res = await this.request(`file/${file}/frame/${frame}/raw`, { signal });
    return parseRaw(await res.arrayBuffer(), res.headers);
  }

  /** The frame's overlay planes as one byte per pixel (0/1), or null when it has none. */
  async overlay(file: number, frame: number, signal?: AbortSignal): Promise<Uint8Array | null> {
    try {
      const res = await this.request(`file/${file}/frame/${frame}/overlay`, { signal });
      return new Uint8Array(await res.arrayBuffer());
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) return null;
      throw err;
    }
  }

  series(): Promise<SeriesResponse> {
    return this.json('series');
  }

  async sliceRaw(stack: string, k: number, axis: Axis, signal?: AbortSignal): Promise<SliceFrame> {
    const res = await this.request(`series/${encodeURIComponent(stack)}/slice/${k}/raw?axis=${axis}`, { signal });
    return parseSlice(await res.arrayBuffer(), res.headers);
  }

  /** Region statistics of a file frame. */
  frameStats(file: number, frame: number, shape: RegionShape, box: RegionBox, signal?: AbortSignal): Promise<RegionStats> {
    return this.json(`file/${file}/frame/${frame}/stats?${statsQuery(shape, box)}`, { signal });
  }

  /** Region statistics of a stack slice on any axis (a reformat's own spacing gives the area). */
  sliceStats(stack: string, k: number, axis: Axis, shape: RegionShape, box: RegionBox, signal?: AbortSignal): Promise<RegionStats> {
    return this.json(`series/${encodeURIComponent(stack)}/slice/${k}/stats?${statsQuery(shape, box, axis)}`, { signal });
  }

  async thumbnail(file: number, size: number, signal?: AbortSignal): Promise<Blob> {
    const res = await this.request(`file/${file}/frame/0/thumbnail?size=${size}`, { signal });
    return res.blob();
  }

  tags(file: number): Promise<TagNode[]> {
    return this.json(`file/${file}/tags`);
  }

  tagsSelect(file: number, path: string, offset: number, limit: number): Promise<TagNode> {
    const q = new URLSearchParams({ path, offset: String(offset), limit: String(limit) });
    return this.json(`file/${file}/tags/select?${q.toString()}`);
  }

  annotations(file: number): Promise<RoiSet> {
    return this.json(`file/${file}/annotations`);
  }

  putAnnotations(file: number, set: RoiSet): Promise<RoiSet> {
    return this.json(`file/${file}/annotations`, {
      method: 'PUT',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(set),
    });
  }

  measurements(file: number): Promise<{ measurements: Measurement[] }> {
    return this.json(`file/${file}/measurements`);
  }

  /** Replace a file's whole list (docs/api.md "Measurements"); the answer is the canonical list. */
  putMeasurements(file: number, list: Pick<Measurement, 'kind' | 'frame' | 'points' | 'label'>[]): Promise<{ measurements: Measurement[] }> {
    return this.json(`file/${file}/measurements`, {
      method: 'PUT',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ measurements: list }),
    });
  }

  async exportMeasurements(): Promise<{ blob: Blob; filename: string }> {
    const res = await this.request('measurements/export.json');
    return { blob: await res.blob(), filename: dispositionFilename(res.headers.get('Content-Disposition'), 'dcmview-measurements.json') };
  }

  async exportCsv(): Promise<{ blob: Blob; filename: string }> {
    const res = await this.request('annotations/export.csv');
    const filename = dispositionFilename(
      res.headers.get('Content-Disposition'),
      'dcmview-annotations.csv',
    );
    return { blob: await res.blob(), filename };
  }
}

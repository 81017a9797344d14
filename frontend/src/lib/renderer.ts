/**
 * Draws a raw frame on a canvas. The WebGL2 path uploads the stored samples untouched as an
 * integer texture (R8/R16/R32, unsigned or signed) and applies rescale, window, MONOCHROME1 and
 * the user's invert in the fragment shader, so a window drag is one uniform change per display
 * frame. Colour frames are an RGB8 texture. Without WebGL2 the CPU path builds a lookup table per
 * window and draws through a 2-D canvas.
 */

import type { RawFrame, Window } from './api';
import { storedRange, type Range, type WindowMode } from './windowing';
import { OVERLAY_RGB, paintPixels, type FromWorker, type PaintFrame, type ToWorker } from './cpuPaint';
import type { Affine, Size } from './viewport';
import type { SegmentImage, SegmentStyle } from './overlays';

export interface RenderParams {
  /** Image → canvas (CSS pixels). */
  matrix: Affine;
  /** Canvas size in CSS pixels. */
  size: Size;
  dpr: number;
  window: Window;
  mode: WindowMode;
  /** MONOCHROME1 xor the user's Invert. */
  invert: boolean;
  /** Interpolate between samples (when zoomed out). */
  smooth: boolean;
}

export interface Renderer {
  readonly kind: 'webgl2' | 'cpu';
  setFrame(frame: RawFrame | null): void;
  setOverlay(mask: Uint8Array | null): void;
  /**
   * The segment overlays of the frame shown (the composed stack, null for none) and their
   * style; drawn in image space in the same pass. An opacity change alone is one uniform.
   */
  setSegments(image: SegmentImage | null, style: SegmentStyle): void;
  render(p: RenderParams): void;
  destroy(): void;
  /** True while the screen lags the newest frame/window (the CPU worker's answer is due). */
  readonly pending: boolean;
  /** Called when a late (asynchronous) paint has reached the screen. */
  onpainted: (() => void) | null;
}

export const BACKGROUND = [0.04, 0.045, 0.05] as const;

/** Stored-value range of a frame, cached on the frame object (min/max is O(n)). */
const ranges = new WeakMap<RawFrame, Range>();
export function frameRange(f: RawFrame): Range {
  let r = ranges.get(f);
  if (!r) {
    r = storedRange(f.data, f.rows * f.columns * f.samplesPerPixel);
    ranges.set(f, r);
  }
  return r;
}

export function isColour(f: RawFrame): boolean {
  return f.samplesPerPixel === 3;
}

const VERT = `#version 300 es
in vec2 a_unit;
uniform vec2 u_size;
uniform mat3 u_matrix;
uniform vec2 u_canvas;
out vec2 v_img;
void main() {
  vec2 img = a_unit * u_size;
  vec2 s = (u_matrix * vec3(img, 1.0)).xy;
  gl_Position = vec4(s.x / u_canvas.x * 2.0 - 1.0, 1.0 - s.y / u_canvas.y * 2.0, 0.0, 1.0);
  v_img = img;
}`;

function frag(kind: 'uint' | 'int' | 'rgb'): string {
  const sampler = kind === 'uint' ? 'usampler2D' : kind === 'int' ? 'isampler2D' : 'sampler2D';
  const fetch =
    kind === 'rgb'
      ? 'vec3 fetchv(ivec2 p) { return texelFetch(u_tex, clamp(p, ivec2(0), ivec2(u_size) - 1), 0).rgb; }'
      : 'vec3 fetchv(ivec2 p) { return vec3(float(texelFetch(u_tex, clamp(p, ivec2(0), ivec2(u_size) - 1), 0).r)); }';
  const grey =
    kind === 'rgb'
      ? 'vec3 c = s;'
      : `float x = s.r * u_slope + u_intercept;
  float y;
  if (u_mode == 1) {
    y = u_width <= 0.0 ? step(u_center, x) : clamp((x - u_center) / u_width + 0.5, 0.0, 1.0);
  } else if (u_width <= 1.0) {
    y = x <= u_center - 0.5 ? 0.0 : 1.0;
  } else {
    y = clamp((x - (u_center - 0.5)) / (u_width - 1.0) + 0.5, 0.0, 1.0);
  }
  vec3 c = vec3(y);`;
  return `#version 300 es
precision highp float;
precision highp int;
precision highp ${sampler};
precision highp usampler2D;
uniform ${sampler} u_tex;
uniform usampler2D u_overlay;
uniform sampler2D u_segments;
uniform bool u_has_segments;
uniform float u_opacity;
uniform vec2 u_size;
uniform float u_slope;
uniform float u_intercept;
uniform float u_center;
uniform float u_width;
uniform int u_mode;
uniform bool u_invert;
uniform bool u_smooth;
uniform bool u_has_overlay;
in vec2 v_img;
out vec4 out_colour;
${fetch}
void main() {
  vec3 s;
  if (u_smooth) {
    vec2 q = v_img - 0.5;
    ivec2 b = ivec2(floor(q));
    vec2 f = fract(q);
    s = mix(mix(fetchv(b), fetchv(b + ivec2(1, 0)), f.x), mix(fetchv(b + ivec2(0, 1)), fetchv(b + ivec2(1, 1)), f.x), f.y);
  } else {
    s = fetchv(ivec2(floor(v_img)));
  }
  ${grey}
  if (u_invert) c = 1.0 - c;
  if (u_has_overlay) {
    uint o = texelFetch(u_overlay, clamp(ivec2(floor(v_img)), ivec2(0), ivec2(u_size) - 1), 0).r;
    if (o != 0u) c = vec3(${OVERLAY_RGB.join(', ')});
  }
  if (u_has_segments) {
    // the composed segments in image space (same blend as lib/overlays.ts blendSegments)
    vec4 k = texelFetch(u_segments, clamp(ivec2(floor(v_img)), ivec2(0), ivec2(u_size) - 1), 0);
    c = mix(c, k.rgb, u_opacity * k.a);
  }
  out_colour = vec4(c, 1.0);
}`;
}

interface Program {
  prog: WebGLProgram;
  loc: Record<string, WebGLUniformLocation | null>;
}

const UNIFORMS = [
  'u_size',
  'u_matrix',
  'u_canvas',
  'u_tex',
  'u_overlay',
  'u_slope',
  'u_intercept',
  'u_center',
  'u_width',
  'u_mode',
  'u_invert',
  'u_smooth',
  'u_has_overlay',
  'u_segments',
  'u_has_segments',
  'u_opacity',
];

function texFormat(gl: WebGL2RenderingContext, f: RawFrame): [number, number, number, 'uint' | 'int' | 'rgb'] {
  if (isColour(f)) return [gl.RGB8, gl.RGB, gl.UNSIGNED_BYTE, 'rgb'];
  if (f.bitsAllocated <= 8) return f.signed ? [gl.R8I, gl.RED_INTEGER, gl.BYTE, 'int'] : [gl.R8UI, gl.RED_INTEGER, gl.UNSIGNED_BYTE, 'uint'];
  if (f.bitsAllocated <= 16)
    return f.signed ? [gl.R16I, gl.RED_INTEGER, gl.SHORT, 'int'] : [gl.R16UI, gl.RED_INTEGER, gl.UNSIGNED_SHORT, 'uint'];
  return f.signed ? [gl.R32I, gl.RED_INTEGER, gl.INT, 'int'] : [gl.R32UI, gl.RED_INTEGER, gl.UNSIGNED_INT, 'uint'];
}

export class WebGLRenderer implements Renderer {
  readonly kind = 'webgl2' as const;
  private programs = new Map<string, Program>();
  private tex: WebGLTexture;
  private overlayTex: WebGLTexture;
  private vao: WebGLVertexArrayObject;
  private frame: RawFrame | null = null;
  private texKind: 'uint' | 'int' | 'rgb' = 'uint';
  private hasOverlay = false;
  private segmentsTex: WebGLTexture;
  private segments: SegmentImage | null = null;
  private opacity = 0;
  readonly pending = false;
  onpainted: (() => void) | null = null;

  constructor(
    private canvas: HTMLCanvasElement,
    private gl: WebGL2RenderingContext,
  ) {
    const buf = gl.createBuffer();
    this.vao = gl.createVertexArray()!;
    gl.bindVertexArray(this.vao);
    gl.bindBuffer(gl.ARRAY_BUFFER, buf);
    gl.bufferData(gl.ARRAY_BUFFER, new Float32Array([0, 0, 1, 0, 0, 1, 1, 1]), gl.STATIC_DRAW);
    gl.enableVertexAttribArray(0);
    gl.vertexAttribPointer(0, 2, gl.FLOAT, false, 0, 0);
    this.tex = this.makeTexture();
    this.overlayTex = this.makeTexture();
    this.segmentsTex = this.makeTexture();
    gl.pixelStorei(gl.UNPACK_ALIGNMENT, 1);
  }

  /** A WebGL2 renderer, or null when the browser has no WebGL2 (or it fails to compile). */
  static create(canvas: HTMLCanvasElement): WebGLRenderer | null {
    // Probe on a throwaway canvas: a canvas that once gave a WebGL context can never give a
    // 2-D one, so the real canvas is only claimed when the shaders compile.
    const probe = document.createElement('canvas');
    const pgl = probe.getContext('webgl2');
    if (!pgl) return null;
    try {
      new WebGLRenderer(probe, pgl).program('int');
    } catch {
      return null;
    } finally {
      pgl.getExtension('WEBGL_lose_context')?.loseContext();
    }
    const gl = canvas.getContext('webgl2', { antialias: false, alpha: false, preserveDrawingBuffer: false });
    if (!gl) return null;
    return new WebGLRenderer(canvas, gl);
  }

  private makeTexture(): WebGLTexture {
    const gl = this.gl;
    const t = gl.createTexture()!;
    gl.bindTexture(gl.TEXTURE_2D, t);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MIN_FILTER, gl.NEAREST);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MAG_FILTER, gl.NEAREST);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_S, gl.CLAMP_TO_EDGE);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_T, gl.CLAMP_TO_EDGE);
    return t;
  }

  private program(kind: 'uint' | 'int' | 'rgb'): Program {
    let p = this.programs.get(kind);
    if (p) return p;
    const gl = this.gl;
    const compile = (type: number, src: string): WebGLShader => {
      const s = gl.createShader(type)!;
      gl.shaderSource(s, src);
      gl.compileShader(s);
      if (!gl.getShaderParameter(s, gl.COMPILE_STATUS)) throw new Error(gl.getShaderInfoLog(s) ?? 'shader');
      return s;
    };
    const prog = gl.createProgram()!;
    gl.attachShader(prog, compile(gl.VERTEX_SHADER, VERT));
    gl.attachShader(prog, compile(gl.FRAGMENT_SHADER, frag(kind)));
    gl.bindAttribLocation(prog, 0, 'a_unit');
    gl.linkProgram(prog);
    if (!gl.getProgramParameter(prog, gl.LINK_STATUS)) throw new Error(gl.getProgramInfoLog(prog) ?? 'link');
    const loc: Program['loc'] = {};
    for (const u of UNIFORMS) loc[u] = gl.getUniformLocation(prog, u);
    p = { prog, loc };
    this.programs.set(kind, p);
    return p;
  }

  setFrame(frame: RawFrame | null): void {
    this.frame = frame;
    if (!frame) return;
    const gl = this.gl;
    const [internal, format, type, kind] = texFormat(gl, frame);
    this.texKind = kind;
    gl.activeTexture(gl.TEXTURE0);
    gl.bindTexture(gl.TEXTURE_2D, this.tex);
    const n = frame.rows * frame.columns * frame.samplesPerPixel;
    const view = frame.data.length === n ? frame.data : frame.data.subarray(0, n);
    gl.texImage2D(gl.TEXTURE_2D, 0, internal, frame.columns, frame.rows, 0, format, type, view);
  }

  setOverlay(mask: Uint8Array | null): void {
    const f = this.frame;
    this.hasOverlay = !!mask && !!f && mask.length >= f.rows * f.columns;
    if (!this.hasOverlay || !f || !mask) return;
    const gl = this.gl;
    gl.activeTexture(gl.TEXTURE1);
    gl.bindTexture(gl.TEXTURE_2D, this.overlayTex);
    gl.texImage2D(gl.TEXTURE_2D, 0, gl.R8UI, f.columns, f.rows, 0, gl.RED_INTEGER, gl.UNSIGNED_BYTE, mask.subarray(0, f.rows * f.columns));
  }

  setSegments(image: SegmentImage | null, style: SegmentStyle): void {
    const gl = this.gl;
    if (image !== this.segments) {
      this.segments = image;
      if (image) {
        gl.activeTexture(gl.TEXTURE2);
        gl.bindTexture(gl.TEXTURE_2D, this.segmentsTex);
        gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA8, image.columns, image.rows, 0, gl.RGBA, gl.UNSIGNED_BYTE, image.data);
      }
    }
    this.opacity = Math.min(1, Math.max(0, style.opacity));
  }

  render(p: RenderParams): void {
    const gl = this.gl;
    const w = Math.max(1, Math.round(p.size.width * p.dpr));
    const h = Math.max(1, Math.round(p.size.height * p.dpr));
    if (this.canvas.width !== w || this.canvas.height !== h) {
      this.canvas.width = w;
      this.canvas.height = h;
    }
    gl.viewport(0, 0, w, h);
    gl.clearColor(BACKGROUND[0], BACKGROUND[1], BACKGROUND[2], 1);
    gl.clear(gl.COLOR_BUFFER_BIT);
    const f = this.frame;
    if (!f) return;
    const { prog, loc } = this.program(this.texKind);
    gl.useProgram(prog);
    gl.bindVertexArray(this.vao);
    const m = p.matrix;
    gl.uniform2f(loc.u_size, f.columns, f.rows);
    gl.uniformMatrix3fv(loc.u_matrix, false, [m.a, m.b, 0, m.c, m.d, 0, m.e, m.f, 1]);
    gl.uniform2f(loc.u_canvas, p.size.width, p.size.height);
    gl.activeTexture(gl.TEXTURE0);
    gl.bindTexture(gl.TEXTURE_2D, this.tex);
    gl.uniform1i(loc.u_tex, 0);
    gl.activeTexture(gl.TEXTURE1);
    gl.bindTexture(gl.TEXTURE_2D, this.overlayTex);
    gl.uniform1i(loc.u_overlay, 1);
    gl.uniform1i(loc.u_has_overlay, this.hasOverlay ? 1 : 0);
    const seg = this.segments;
    const hasSegments = !!seg && this.opacity > 0 && seg.rows === f.rows && seg.columns === f.columns;
    gl.activeTexture(gl.TEXTURE2);
    gl.bindTexture(gl.TEXTURE_2D, this.segmentsTex);
    gl.uniform1i(loc.u_segments, 2);
    gl.uniform1i(loc.u_has_segments, hasSegments ? 1 : 0);
    gl.uniform1f(loc.u_opacity, this.opacity);
    gl.uniform1f(loc.u_slope, f.slope);
    gl.uniform1f(loc.u_intercept, f.intercept);
    gl.uniform1f(loc.u_center, p.window.center);
    gl.uniform1f(loc.u_width, p.window.width);
    gl.uniform1i(loc.u_mode, p.mode === 'exact' ? 1 : 0);
    gl.uniform1i(loc.u_invert, p.invert ? 1 : 0);
    gl.uniform1i(loc.u_smooth, p.smooth ? 1 : 0);
    gl.drawArrays(gl.TRIANGLE_STRIP, 0, 4);
  }

  destroy(): void {
    this.gl.getExtension('WEBGL_lose_context')?.loseContext();
  }
}

/**
 * The fallback: a lookup table per window, applied in a Web Worker (`cpuWorker.ts`). The frame's
 * samples are copied to the worker once per frame (the main thread keeps its own for the probe
 * and the frame cache); each window change sends only the window, and the worker answers with a
 * transferred ImageBitmap. One render is in flight at a time and only the newest window is sent
 * next, so a fast drag skips windows instead of queueing them. Until the answer arrives the last
 * image stays on screen (pan and zoom redraw it at once). Without Worker/OffscreenCanvas the same
 * kernel runs on the main thread.
 */
export class CpuRenderer implements Renderer {
  readonly kind = 'cpu' as const;
  private ctx: CanvasRenderingContext2D;
  private frame: RawFrame | null = null;
  private overlay: Uint8Array | null = null;
  private worker: Worker | null = null;
  /** Frame generation; a worker answer for an older frame is only shown until the new one. */
  private seq = 0;
  private nextId = 0;
  private inFlight = false;
  private image: ImageBitmap | HTMLCanvasElement | null = null;
  private shownKey = '';
  private shownSeq = -1;
  private last: RenderParams | null = null;
  /** Counts overlay changes: an answer windowed before the overlay arrived is not the final one. */
  private overlayVersion = 0;
  private segments: { image: SegmentImage | null; style: SegmentStyle | null } = { image: null, style: null };
  /** Main-thread fallback state. */
  private pixels: ImageData | null = null;
  /** Called after a worker answer has been drawn. */
  onpainted: (() => void) | null = null;

  constructor(
    private canvas: HTMLCanvasElement,
    useWorker = true,
  ) {
    const ctx = canvas.getContext('2d', { alpha: false });
    if (!ctx) throw new Error('no 2-D canvas');
    this.ctx = ctx;
    if (useWorker && typeof Worker !== 'undefined' && typeof OffscreenCanvas !== 'undefined') {
      try {
        this.worker = new Worker(new URL('./cpuWorker.ts', import.meta.url), { type: 'module', name: 'dcmview-windowing' });
        this.worker.onmessage = (e: MessageEvent<FromWorker>) => this.received(e.data);
        // a worker that cannot start or window (no OffscreenCanvas 2-D there…): paint here instead
        this.worker.onerror = (e: ErrorEvent) => {
          e.preventDefault();
          this.abandonWorker();
        };
      } catch {
        this.worker = null;
      }
    }
  }

  private abandonWorker(): void {
    this.worker?.terminate();
    this.worker = null;
    this.inFlight = false;
    this.shownKey = '';
    if (this.last) this.render(this.last);
    this.onpainted?.();
  }

  /** Whether the screen does not yet show the newest frame/window (a worker answer is due). */
  get pending(): boolean {
    return !!this.frame && (this.inFlight || this.shownSeq !== this.seq || this.shownKey !== this.keyOf(this.last));
  }

  private keyOf(p: RenderParams | null): string {
    return p ? `${p.window.center}|${p.window.width}|${p.mode}|${p.invert}|${this.overlayVersion}` : '';
  }

  setFrame(frame: RawFrame | null): void {
    if (frame === this.frame) return;
    this.frame = frame;
    this.overlay = null;
    this.seq++;
    this.shownKey = '';
    if (!this.worker) return;
    let copy: PaintFrame | null = null;
    const transfer: ArrayBuffer[] = [];
    if (frame) {
      const data = frame.data.slice(0, frame.rows * frame.columns * frame.samplesPerPixel);
      transfer.push(data.buffer as ArrayBuffer);
      copy = { rows: frame.rows, columns: frame.columns, samplesPerPixel: frame.samplesPerPixel, slope: frame.slope, intercept: frame.intercept, data };
    }
    this.post({ type: 'frame', seq: this.seq, frame: copy }, transfer);
  }

  setOverlay(mask: Uint8Array | null): void {
    if (mask === this.overlay) return;
    this.overlay = mask;
    this.overlayVersion++;
    this.shownKey = '';
    if (!this.worker) return;
    const copy = mask ? mask.slice() : null;
    this.post({ type: 'overlay', seq: this.seq, mask: copy }, copy ? [copy.buffer as ArrayBuffer] : []);
  }

  setSegments(image: SegmentImage | null, style: SegmentStyle): void {
    const s = this.segments;
    if (image === s.image && style.opacity === s.style?.opacity) return;
    if (image !== s.image) {
      s.image = image;
      if (this.worker) this.post({ type: 'segments', image });
    }
    if (style.opacity !== s.style?.opacity) {
      s.style = { opacity: style.opacity };
      if (this.worker) this.post({ type: 'style', style: s.style });
    }
    this.overlayVersion++;
    this.shownKey = '';
  }

  private post(msg: ToWorker, transfer: ArrayBuffer[] = []): void {
    this.worker!.postMessage(msg, transfer);
  }

  /** Plain values only: the window may be a Svelte state proxy, which cannot be cloned. */
  private request(p: RenderParams): void {
    if (this.inFlight || !this.worker) return;
    this.inFlight = true;
    this.post({ type: 'render', seq: this.seq, id: ++this.nextId, params: { window: { center: p.window.center, width: p.window.width }, mode: p.mode, invert: p.invert } });
    this.requestedKey = this.keyOf(p);
    this.requestedSeq = this.seq;
  }
  private requestedKey = '';
  private requestedSeq = -1;

  private received(msg: FromWorker): void {
    this.inFlight = false;
    if (this.image && !(this.image instanceof HTMLCanvasElement)) this.image.close();
    this.image = msg.bitmap;
    this.shownSeq = msg.seq;
    this.shownKey = this.requestedKey;
    if (this.last && this.worker) this.render(this.last);
    this.onpainted?.();
  }

  /** Main-thread fallback: the same kernel, drawn through an intermediate canvas. */
  private paintHere(p: RenderParams): void {
    const f = this.frame!;
    const key = this.keyOf(p);
    if (key === this.shownKey && this.shownSeq === this.seq && this.image) return;
    if (!this.pixels || this.pixels.width !== f.columns || this.pixels.height !== f.rows) this.pixels = new ImageData(f.columns, f.rows);
    const range = isColour(f) ? { min: 0, max: 0 } : frameRange(f);
    const { image, style } = this.segments;
    paintPixels(f, range, this.overlay, p, new Uint32Array(this.pixels.data.buffer), image && style ? { image, style } : null);
    if (!(this.image instanceof HTMLCanvasElement) || this.image.width !== f.columns || this.image.height !== f.rows) {
      if (this.image && !(this.image instanceof HTMLCanvasElement)) this.image.close();
      const c = document.createElement('canvas');
      c.width = f.columns;
      c.height = f.rows;
      this.image = c;
    }
    this.image.getContext('2d')!.putImageData(this.pixels, 0, 0);
    this.shownKey = key;
    this.shownSeq = this.seq;
  }

  render(p: RenderParams): void {
    this.last = p;
    const w = Math.max(1, Math.round(p.size.width * p.dpr));
    const h = Math.max(1, Math.round(p.size.height * p.dpr));
    if (this.canvas.width !== w || this.canvas.height !== h) {
      this.canvas.width = w;
      this.canvas.height = h;
    }
    const ctx = this.ctx;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.fillStyle = `rgb(${BACKGROUND.map((v) => Math.round(v * 255)).join(',')})`;
    ctx.fillRect(0, 0, w, h);
    const f = this.frame;
    if (!f) return;
    if (this.worker) {
      const stale = this.shownSeq !== this.seq || this.shownKey !== this.keyOf(p);
      const asked = this.inFlight && this.requestedSeq === this.seq && this.requestedKey === this.keyOf(p);
      if (stale && !asked) this.request(p);
    } else {
      this.paintHere(p);
    }
    const img = this.image;
    // the previous frame's image stays up until the new one is windowed (no flash of background)
    if (!img || img.width !== f.columns || img.height !== f.rows) return;
    const m = p.matrix;
    const s = p.dpr;
    ctx.setTransform(m.a * s, m.b * s, m.c * s, m.d * s, m.e * s, m.f * s);
    ctx.imageSmoothingEnabled = p.smooth;
    ctx.drawImage(img, 0, 0);
    ctx.setTransform(1, 0, 0, 1, 0, 0);
  }

  destroy(): void {
    this.worker?.terminate();
    this.worker = null;
    if (this.image && !(this.image instanceof HTMLCanvasElement)) this.image.close();
    this.image = null;
    this.pixels = null;
  }
}

export type RendererChoice = 'auto' | 'webgl' | 'cpu';

/** Whether a WebGL renderer string names a software rasteriser. */
export function isSoftwareGl(renderer: string): boolean {
  return /swiftshader|llvmpipe|softpipe|software|basic render/i.test(renderer);
}

/** The GL_RENDERER string of this browser's WebGL2 (unmasked where allowed), or null. */
export function webglRendererName(): string | null {
  const gl = document.createElement('canvas').getContext('webgl2');
  if (!gl) return null;
  const ext = gl.getExtension('WEBGL_debug_renderer_info');
  const name = String(gl.getParameter(ext ? ext.UNMASKED_RENDERER_WEBGL : gl.RENDERER) ?? '');
  gl.getExtension('WEBGL_lose_context')?.loseContext();
  return name;
}

/**
 * `webgl`: WebGL2 whenever it exists. `cpu`: the lookup-table path. `auto` (the default): WebGL2
 * on a real GPU; where WebGL2 is itself emulated on the CPU (SwiftShader, llvmpipe: no GPU, a
 * VM, remote desktop) the lookup-table path is the faster of the two, so it is used instead.
 */
export function createRenderer(canvas: HTMLCanvasElement, choice: RendererChoice = 'auto'): Renderer {
  if (choice === 'cpu') return new CpuRenderer(canvas);
  if (choice === 'auto') {
    const name = webglRendererName();
    if (name === null || isSoftwareGl(name)) return new CpuRenderer(canvas);
  }
  return WebGLRenderer.create(canvas) ?? new CpuRenderer(canvas);
}

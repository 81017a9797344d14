/**
 * The CPU renderer's windowing worker: holds the current frame's samples and, per window, writes
 * the windowed RGBA into a reused buffer, puts it on an OffscreenCanvas and transfers the result
 * back as an ImageBitmap (no copy), so a window drag never runs the per-pixel loop on the UI thread.
 */

import { paintPixels, paintRange, type FromWorker, type PaintFrame, type ToWorker } from './cpuPaint';
import type { SegmentImage, SegmentStyle } from './overlays';
import type { Range } from './windowing';

let frame: PaintFrame | null = null;
let range: Range = { min: 0, max: 0 };
let frameSeq = -1;
let overlay: Uint8Array | null = null;
let canvas: OffscreenCanvas | null = null;
let ctx: OffscreenCanvasRenderingContext2D | null = null;
let pixels: ImageData | null = null;
let segments: SegmentImage | null = null;
let style: SegmentStyle | null = null;

function render(seq: number, id: number, msg: Extract<ToWorker, { type: 'render' }>): void {
  if (!frame || seq !== frameSeq) return;
  const f = frame;
  if (!pixels || pixels.width !== f.columns || pixels.height !== f.rows) pixels = new ImageData(f.columns, f.rows);
  paintPixels(f, range, overlay, msg.params, new Uint32Array(pixels.data.buffer), segments && style ? { image: segments, style } : null);
  if (!canvas || canvas.width !== f.columns || canvas.height !== f.rows) {
    canvas = new OffscreenCanvas(f.columns, f.rows);
    ctx = canvas.getContext('2d', { alpha: false });
  }
  ctx!.putImageData(pixels, 0, 0);
  const bitmap = canvas.transferToImageBitmap();
  const reply: FromWorker = { seq, id, bitmap };
  (self as unknown as DedicatedWorkerGlobalScope).postMessage(reply, [bitmap]);
}

self.onmessage = (e: MessageEvent<ToWorker>): void => {
  const msg = e.data;
  if (msg.type === 'frame') {
    frame = msg.frame;
    frameSeq = msg.seq;
    overlay = null;
    range = frame && frame.samplesPerPixel === 1 ? paintRange(frame) : { min: 0, max: 0 };
  } else if (msg.type === 'overlay') {
    if (msg.seq === frameSeq) overlay = msg.mask;
  } else if (msg.type === 'segments') {
    segments = msg.image;
  } else if (msg.type === 'style') {
    style = msg.style;
  } else {
    render(msg.seq, msg.id, msg);
  }
};

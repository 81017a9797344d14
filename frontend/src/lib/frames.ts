/**
 * Decoded frames on the client: a byte-budgeted LRU of `/raw` answers, shared in-flight
 * requests, and a prefetch queue (a few requests at a time) that cine and frame stepping feed.
 * Nothing here blocks the UI: every load is a promise, and the display keeps the last frame
 * until the next one has arrived.
 */

import type { RawFrame } from './api';

export type Loader = (file: number, frame: number, signal: AbortSignal) => Promise<RawFrame>;

const key = (file: number, frame: number): string => `${file}:${frame}`;

export function frameBytes(f: RawFrame): number {
  return f.data.byteLength;
}

export class FrameStore {
  private cache = new Map<string, RawFrame>();
  private bytes = 0;
  private inflight = new Map<string, { promise: Promise<RawFrame>; ctrl: AbortController; prefetch: boolean; owner: number }>();
  /** Prefetch queues by owner (a viewport): each replaces only its own. */
  private queues = new Map<number, [number, number][]>();
  private turn = 0;
  private running = 0;

  constructor(
    private loader: Loader,
    readonly budget: number,
    private concurrency = 3,
  ) {}

  get usedBytes(): number {
    return this.bytes;
  }

  get size(): number {
    return this.cache.size;
  }

  has(file: number, frame: number): boolean {
    return this.cache.has(key(file, frame));
  }

  /** The cached frame (marking it recently used), if present. */
  get(file: number, frame: number): RawFrame | undefined {
    const k = key(file, frame);
    const f = this.cache.get(k);
    if (f) {
      this.cache.delete(k);
      this.cache.set(k, f);
    }
    return f;
  }

  private put(k: string, f: RawFrame): void {
    const old = this.cache.get(k);
    if (old) {
      this.bytes -= frameBytes(old);
      this.cache.delete(k);
    }
    this.cache.set(k, f);
    this.bytes += frameBytes(f);
    for (const [ok, of] of this.cache) {
      if (this.bytes <= this.budget || ok === k) break;
      this.cache.delete(ok);
      this.bytes -= frameBytes(of);
    }
  }

  /** Load a frame now (shares a request already in flight, and jumps the prefetch queue). */
  load(file: number, frame: number): Promise<RawFrame> {
    const k = key(file, frame);
    const hit = this.get(file, frame);
    if (hit) return Promise.resolve(hit);
    const running = this.inflight.get(k);
    if (running) {
      running.prefetch = false;
      return running.promise;
    }
    return this.start(file, frame, false, -1);
  }

  private start(file: number, frame: number, prefetch: boolean, owner: number): Promise<RawFrame> {
    const k = key(file, frame);
    const ctrl = new AbortController();
    const promise = this.loader(file, frame, ctrl.signal).then(
      (f) => {
        this.inflight.delete(k);
        this.put(k, f);
        return f;
      },
      (err: unknown) => {
        this.inflight.delete(k);
        throw err;
      },
    );
    this.inflight.set(k, { promise, ctrl, prefetch, owner });
    return promise;
  }

  /**
   * Replace `owner`'s prefetch queue (one per viewport) with `frames` of `file` (nearest
   * first). Frames already cached or loading are skipped; the queue never asks for more than
   * the owner's share of the budget can hold. The owner's prefetches of other files still in
   * flight are dropped; other owners' are left alone.
   */
  prefetch(file: number, frames: number[], frameSize: number, owner = 0): void {
    this.prefetchFrames(
      frames.map((f) => [file, f]),
      frameSize,
      owner,
    );
  }

  /** The same for (file, frame) pairs of any files (a stack's slices across its files). */
  prefetchFrames(items: [number, number][], frameSize: number, owner = 0): void {
    this.queues.set(owner, []);
    const share = this.budget / Math.max(1, this.queues.size);
    const room = Math.max(1, Math.floor((share * 0.9) / Math.max(1, frameSize)));
    const wanted = items.slice(0, room).filter(([f, fr]) => !this.has(f, fr) && !this.inflight.has(key(f, fr)));
    this.queues.set(owner, wanted);
    const files = new Set(items.map(([f]) => f));
    for (const [k, v] of this.inflight) {
      if (v.prefetch && v.owner === owner && !files.has(Number(k.split(':')[0]))) {
        v.ctrl.abort();
        this.inflight.delete(k);
      }
    }
    this.pump();
  }

  /** Forget `owner`'s queue (its viewport closed). */
  release(owner: number): void {
    this.queues.delete(owner);
  }

  /** The next queued prefetch, taking owners in turn. */
  private next(): [number, number, number] | null {
    const owners = [...this.queues.keys()];
    for (let i = 0; i < owners.length; i++) {
      const owner = owners[(this.turn + i) % owners.length];
      const item = this.queues.get(owner)?.shift();
      if (item) {
        this.turn = (this.turn + i + 1) % owners.length;
        return [item[0], item[1], owner];
      }
    }
    return null;
  }

  private pump(): void {
    while (this.running < this.concurrency) {
      const item = this.next();
      if (!item) return;
      const [file, frame, owner] = item;
      if (this.has(file, frame) || this.inflight.has(key(file, frame))) continue;
      this.running++;
      this.start(file, frame, true, owner)
        .catch(() => undefined)
        .finally(() => {
          this.running--;
          this.pump();
        });
    }
  }

  clear(): void {
    for (const v of this.inflight.values()) v.ctrl.abort();
    this.inflight.clear();
    this.queues.clear();
    this.cache.clear();
    this.bytes = 0;
  }
}

/** Frames cine will show next from `current`, in order, for `count` steps. */
export function upcomingFrames(
  current: number,
  count: number,
  frameCount: number,
  direction: 1 | -1,
  loop: boolean,
  sweep: boolean,
): number[] {
  const out: number[] = [];
  let f = current;
  let d = direction;
  for (let i = 0; i < count; i++) {
    const n = nextFrame(f, d, frameCount, loop, sweep);
    if (!n) break;
    [f, d] = [n.frame, n.direction];
    if (f !== current && !out.includes(f)) out.push(f);
  }
  return out;
}

/** The cine step after `frame`: wraps with loop, bounces with sweep, null at the end. */
export function nextFrame(
  frame: number,
  direction: 1 | -1,
  frameCount: number,
  loop: boolean,
  sweep: boolean,
): { frame: number; direction: 1 | -1 } | null {
  if (frameCount <= 1) return null;
  const n = frame + direction;
  if (n >= 0 && n < frameCount) return { frame: n, direction };
  if (sweep) {
    const back = (direction === 1 ? -1 : 1) as 1 | -1;
    // a sweep without loop ends when it gets back to the first frame
    if (!loop && direction === -1) return null;
    return { frame: frame + back, direction: back };
  }
  if (!loop) return null;
  return { frame: direction === 1 ? 0 : frameCount - 1, direction };
}

/** Display rate over a sliding window of frame timestamps (ms). */
export class RateMeter {
  private stamps: number[] = [];
  constructor(private windowMs = 1000) {}
  tick(now: number): void {
    this.stamps.push(now);
    while (this.stamps.length && this.stamps[0] < now - this.windowMs) this.stamps.shift();
  }
  reset(): void {
    this.stamps = [];
  }
  /** Frames per second over the window, 0 until two frames were shown. */
  get fps(): number {
    const s = this.stamps;
    if (s.length < 2) return 0;
    return ((s.length - 1) * 1000) / (s[s.length - 1] - s[0]);
  }
}

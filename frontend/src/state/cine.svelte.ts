/**
 * The cine clock of one viewport: plays frames at the chosen rate on animation frames, never
 * faster than they arrive (a frame not yet decoded is waited for while the display keeps the
 * current one), with loop and sweep, and measures the rate reached.
 */

import { RateMeter, nextFrame, upcomingFrames } from '../lib/frames';
import type { RawFrame } from '../lib/api';

/**
 * What the clock drives: the viewport's position (a frame of its file, or a slice of its
 * stack across files) and where each position's decoded frame is.
 */
export interface CineTarget {
  /** Something is shown that can play. */
  readonly playable: boolean;
  readonly position: number;
  readonly positionCount: number;
  /** The decoded frame of position `p`, if it is cached. */
  cached(p: number): RawFrame | undefined;
  /** Load position `p`'s frame now. */
  load(p: number): Promise<RawFrame>;
  /** Show position `p`, already decoded as `raw`. */
  show(p: number, raw: RawFrame): void;
  /** Go to position `p` (loaded as usual). */
  goto(p: number): void;
  /** The clock moved: fetch ahead. */
  prefetch(): void;
}

export const FPS_CHOICES = [5, 10, 15, 24, 30, 60];

/** The FPS choices, with the file's own rate (from its frame time) among them. */
export function fpsChoices(frameTimeMs: number | null | undefined): number[] {
  const dicom = frameTimeMs && frameTimeMs > 0 ? Math.round(1000 / frameTimeMs) : null;
  return dicom && !FPS_CHOICES.includes(dicom) ? [...FPS_CHOICES, dicom].sort((a, b) => a - b) : FPS_CHOICES;
}

export class Cine {
  playing = $state(false);
  fps = $state(10);
  loop = $state(true);
  sweep = $state(false);
  /** Display rate reached, frames per second (0 until measured). */
  measured = $state(0);
  direction: 1 | -1 = 1;

  private due = 0;
  private raf = 0;
  private meter = new RateMeter(1000);

  constructor(private target: CineTarget) {}

  /** The frames to fetch ahead of `frame`: many while playing, a few while stepping. */
  upcoming(frame: number, frameCount: number): number[] {
    return this.playing
      ? upcomingFrames(frame, 48, frameCount, this.direction, this.loop, this.sweep)
      : upcomingFrames(frame, 4, frameCount, this.direction, false, false);
  }

  /** The file's rate from its frame time, else 10 fps. */
  rateFrom(frameTimeMs: number | null | undefined): void {
    this.fps = frameTimeMs && frameTimeMs > 0 ? Math.round(1000 / frameTimeMs) : 10;
  }

  play(): void {
    const t = this.target;
    if (t.positionCount <= 1 || this.playing) return;
    if (!this.loop && !this.sweep && t.position >= t.positionCount - 1) t.goto(0);
    this.playing = true;
    this.meter.reset();
    this.measured = 0;
    this.due = performance.now();
    t.prefetch();
    this.raf = requestAnimationFrame(this.tick);
  }

  stop(): void {
    this.playing = false;
    cancelAnimationFrame(this.raf);
  }

  toggle(): void {
    if (this.playing) this.stop();
    else this.play();
  }

  private tick = (now: number): void => {
    const t = this.target;
    if (!this.playing || !t.playable) return;
    this.raf = requestAnimationFrame(this.tick);
    if (now < this.due - 2) return;
    const n = nextFrame(t.position, this.direction, t.positionCount, this.loop, this.sweep);
    if (!n) {
      this.stop();
      return;
    }
    const f = t.cached(n.frame);
    if (!f) {
      // not here yet: wait for it (the display keeps the current frame), keep fetching
      void t.load(n.frame).catch(() => undefined);
      return;
    }
    t.show(n.frame, f);
    this.direction = n.direction;
    this.meter.tick(now);
    this.measured = this.meter.fps;
    const interval = 1000 / this.fps;
    this.due += interval;
    if (this.due <= now) this.due = now + interval;
    t.prefetch();
  };
}

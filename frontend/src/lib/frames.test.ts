import { describe, expect, it } from 'vitest';
import type { RawFrame } from './api';
import { FrameStore, RateMeter, nextFrame, upcomingFrames } from './frames';

function raw(bytes: number): RawFrame {
  return {
    rows: 1,
    columns: bytes / 2,
    bitsAllocated: 16,
    signed: false,
    samplesPerPixel: 1,
    photometric: 'MONOCHROME2',
    slope: 1,
    intercept: 0,
    defaultWindow: null,
    data: new Uint16Array(bytes / 2),
  };
}

describe('cine stepping', () => {
  it('wraps with loop and stops without', () => {
    expect(nextFrame(4, 1, 5, true, false)).toEqual({ frame: 0, direction: 1 });
    expect(nextFrame(4, 1, 5, false, false)).toBeNull();
  });
  it('bounces with sweep', () => {
    expect(nextFrame(4, 1, 5, true, true)).toEqual({ frame: 3, direction: -1 });
    expect(nextFrame(0, -1, 5, true, true)).toEqual({ frame: 1, direction: 1 });
    expect(nextFrame(0, -1, 5, false, true)).toBeNull();
  });
  it('lists upcoming frames without repeats', () => {
    expect(upcomingFrames(3, 10, 5, 1, true, false)).toEqual([4, 0, 1, 2]);
    expect(upcomingFrames(3, 3, 5, 1, true, true)).toEqual([4, 2]);
    expect(upcomingFrames(0, 3, 1, 1, true, false)).toEqual([]);
  });
});

describe('FrameStore', () => {
  it('shares in-flight loads and evicts least recently used past the budget', async () => {
    let calls = 0;
    const store = new FrameStore(async () => {
      calls++;
      return raw(100);
    }, 250);
    const [a, b] = await Promise.all([store.load(0, 0), store.load(0, 0)]);
    expect(a).toBe(b);
    expect(calls).toBe(1);
    await store.load(0, 1);
    store.get(0, 0); // 0 is now the most recent
    await store.load(0, 2);
    expect(store.has(0, 0)).toBe(true);
    expect(store.has(0, 1)).toBe(false);
    expect(store.usedBytes).toBe(200);
  });
  it('prefetches only what the budget holds', async () => {
    const asked: number[] = [];
    const store = new FrameStore(async (_f, frame) => {
      asked.push(frame);
      return raw(100);
    }, 500, 2);
    store.prefetch(0, [1, 2, 3, 4, 5, 6, 7, 8], 100);
    await new Promise((r) => setTimeout(r, 10));
    expect(asked).toEqual([1, 2, 3, 4]);
  });
});

describe('FrameStore prefetch owners', () => {
  it('keeps one queue per owner: a viewport does not cancel another one', async () => {
    const asked: string[] = [];
    const release: (() => void)[] = [];
    const store = new FrameStore(
      (f, frame) =>
        new Promise((resolve) => {
          asked.push(`${f}:${frame}`);
          release.push(() => resolve(raw(100)));
        }),
      10_000,
      2,
    );
    store.prefetch(0, [1, 2, 3], 100, 0);
    store.prefetch(5, [1, 2, 3], 100, 1);
    // owner 1's request for file 5 did not drop owner 0's queue for file 0: they take turns
    while (release.length) {
      release.shift()!();
      await new Promise((r) => setTimeout(r, 0));
    }
    expect(asked.sort()).toEqual(['0:1', '0:2', '0:3', '5:1', '5:2', '5:3']);
  });
});

describe('FrameStore prefetch across files', () => {
  it("prefetches a stack's next slices, each a frame of another file, and keeps the files it still needs", async () => {
    const asked: string[] = [];
    const aborted: string[] = [];
    const store = new FrameStore(
      (f, frame, signal) =>
        new Promise((resolve) => {
          asked.push(`${f}:${frame}`);
          signal.addEventListener('abort', () => aborted.push(`${f}:${frame}`));
          setTimeout(() => resolve(raw(100)), 5);
        }),
      10_000,
      2,
    );
    store.prefetchFrames(
      [
        [7, 0],
        [3, 0],
        [9, 0],
      ],
      100,
    );
    // the next step: file 3 is still wanted, file 7 no longer
    store.prefetchFrames(
      [
        [3, 0],
        [9, 0],
        [4, 0],
      ],
      100,
    );
    await new Promise((r) => setTimeout(r, 40));
    expect(aborted).toEqual(['7:0']);
    expect(asked).toEqual(['7:0', '3:0', '9:0', '4:0']);
    expect(store.has(3, 0) && store.has(9, 0) && store.has(4, 0)).toBe(true);
  });
});

describe('RateMeter', () => {
  it('measures frames per second over its window', () => {
    const m = new RateMeter(1000);
    for (let t = 0; t <= 2000; t += 40) m.tick(t);
    expect(m.fps).toBeCloseTo(25, 5);
  });
});

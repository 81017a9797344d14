/**
 * Navigator thumbnails: fetched with the token (an `<img src>` cannot send it), kept as object
 * URLs in a small LRU (revoked on eviction), a few requests at a time, newest wishes first.
 */

import type { Api } from './api';

export class Thumbnails {
  private urls = new Map<number, string>();
  private waiting = new Map<number, ((url: string | null) => void)[]>();
  private queue: number[] = [];
  private running = 0;

  constructor(
    private api: Api,
    private size = 64,
    private capacity = 400,
    private concurrency = 3,
  ) {}

  /** The object URL when cached (null otherwise); `want` queues a fetch and calls back. */
  get(file: number, want?: (url: string | null) => void): string | null {
    const u = this.urls.get(file);
    if (u) {
      this.urls.delete(file);
      this.urls.set(file, u);
      return u;
    }
    if (want) {
      const list = this.waiting.get(file);
      if (list) list.push(want);
      else {
        this.waiting.set(file, [want]);
        this.queue.unshift(file);
        this.pump();
      }
    }
    return null;
  }

  /** Forget wishes for files no longer on screen. */
  retain(files: Set<number>): void {
    this.queue = this.queue.filter((f) => {
      if (files.has(f)) return true;
      this.waiting.delete(f);
      return false;
    });
  }

  private pump(): void {
    while (this.running < this.concurrency && this.queue.length) {
      const file = this.queue.shift()!;
      this.running++;
      this.api
        .thumbnail(file, this.size)
        .then((blob) => {
          const url = URL.createObjectURL(blob);
          this.urls.set(file, url);
          while (this.urls.size > this.capacity) {
            const [k, v] = this.urls.entries().next().value as [number, string];
            URL.revokeObjectURL(v);
            this.urls.delete(k);
          }
          return url;
        })
        .catch(() => null)
        .then((url) => {
          for (const cb of this.waiting.get(file) ?? []) cb(url);
          this.waiting.delete(file);
          this.running--;
          this.pump();
        });
    }
  }
}

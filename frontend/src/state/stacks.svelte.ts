/**
 * The stacks the server found (`/api/series`: a series, or a multi-frame file, scrolled as one
 * image), fetched again while the scan grows them, and the client cache of reformat planes
 * (axis 1/2 slices, MPR). One instance per page, in the `ViewerContext`.
 */

import type { Axis, Stack } from '../lib/api';
import { FrameStore } from '../lib/frames';
import type { Session } from './session.svelte';

export class Stacks {
  list = $state.raw<Stack[]>([]);
  /** The last answer said the scan was complete. */
  complete = $state(false);
  readonly byId = $derived(new Map(this.list.map((s) => [s.id, s])));
  /** Each file's stack (every renderable file is in exactly one). */
  readonly byFile = $derived.by(() => {
    const m = new Map<number, Stack>();
    for (const s of this.list) for (const [f] of s.slices) if (!m.has(f)) m.set(f, s);
    return m;
  });
  /** Decoded reformat planes: "file" = `code(stack, axis)`, "frame" = the plane index. */
  readonly reformats: FrameStore;

  private codes = new Map<string, number>();
  private ids: [string, Axis][] = [];
  private busy = false;
  private again = false;
  private dispose: () => void;

  constructor(
    private session: Session,
    budget: number,
  ) {
    this.reformats = new FrameStore((code, k, signal) => {
      const [id, axis] = this.ids[code];
      return this.session.api.sliceRaw(id, k, axis, signal);
    }, budget, 2);
    this.dispose = $effect.root(() => {
      $effect(() => {
        // a new answer from /api/files (more files, or the scan ended): ask again
        void [this.session.files.length, this.session.scan.complete];
        if (this.session.files.length) void this.refresh();
      });
    });
  }

  destroy(): void {
    this.dispose();
    this.reformats.clear();
  }

  stackOf(file: number | null): Stack | null {
    return file === null ? null : (this.byFile.get(file) ?? null);
  }

  /** The number the reformat store knows a stack axis by. */
  code(id: string, axis: Axis): number {
    const k = `${id}:${axis}`;
    let c = this.codes.get(k);
    if (c === undefined) {
      c = this.ids.length;
      this.ids.push([id, axis]);
      this.codes.set(k, c);
    }
    return c;
  }

  /** Fetch the stacks (one request at a time; a change during a request asks once more after it). */
  async refresh(): Promise<void> {
    if (this.busy) {
      this.again = true;
      return;
    }
    this.busy = true;
    try {
      const r = await this.session.api.series();
      this.list = r.series;
      this.complete = r.scan_complete;
    } catch {
      // the session reports connection problems; the next file answer asks again
    } finally {
      this.busy = false;
    }
    if (this.again || (!this.complete && this.session.scan.complete)) {
      this.again = false;
      setTimeout(() => void this.refresh(), 300);
    }
  }
}

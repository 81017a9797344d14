/**
 * The ROI boxes of the file one viewport shows: loaded from the server, edited on screen,
 * committed with a PUT (queued, newest answer wins; a rejected edit restores what the server
 * holds). One instance per viewport.
 */

import type { Api } from '../lib/api';
import { fromRoiSet, growBox, moveBox, scopeFrames, snap, toRoiSet, type Box } from '../lib/roi';
import type { UnexportedEdits } from './edits.svelte';

export type RoiScope = 'current' | 'all';

export class Rois {
  boxes = $state.raw<Box[]>([]);
  selected = $state(-1);
  scope = $state<RoiScope>('current');
  error = $state<string | null>(null);
  saving = $state(false);
  /** The box being drawn (not yet committed), shown dashed. */
  draft = $state<Box | null>(null);

  private file: number | null = null;
  private committed: Box[] = [];
  private chain: Promise<void> = Promise.resolve();
  /** Numbers the edits: only the newest one's answer replaces what is on screen. */
  private seq = 0;

  constructor(
    private api: Api,
    private edits: UnexportedEdits,
  ) {}

  /** Show the ROIs of `file` (null: none); returns the canceller of the load. */
  load(file: number | null): () => void {
    this.file = file;
    this.boxes = [];
    this.committed = [];
    this.selected = -1;
    this.error = null;
    if (file === null) return () => {};
    let live = true;
    this.api
      .annotations(file)
      .then((set) => {
        if (!live) return;
        this.boxes = fromRoiSet(set);
        this.committed = this.boxes;
      })
      .catch((e: unknown) => {
        if (live) this.error = e instanceof Error ? e.message : String(e);
      });
    return () => {
      live = false;
    };
  }

  commit(next: Box[]): void {
    const f = this.file;
    if (f === null) return;
    const prev = this.committed;
    const seq = ++this.seq;
    this.boxes = next;
    this.error = null;
    this.saving = true;
    this.chain = this.chain.then(async () => {
      try {
        const canon = fromRoiSet(await this.api.putAnnotations(f, toRoiSet(next)));
        this.edits.mark();
        if (this.file === f) {
          this.committed = canon;
          // a newer edit (a held key, fast repeats) is queued: keep it on screen
          if (seq === this.seq) this.boxes = canon;
        }
      } catch (e) {
        if (this.file === f) {
          this.boxes = prev;
          this.committed = prev;
          if (this.selected >= prev.length) this.selected = -1;
          this.error = `ROI edit rejected: ${e instanceof Error ? e.message : String(e)}`;
        }
      } finally {
        if (seq === this.seq) this.saving = false;
      }
    });
  }

  /** Boxes changed by a drag: on screen now, committed when `commit` (the drag ended). */
  change(next: Box[], commit: boolean): void {
    if (commit) this.commit(next);
    else this.boxes = next;
  }

  get current(): Box | null {
    return this.selected >= 0 && this.selected < this.boxes.length ? this.boxes[this.selected] : null;
  }

  /** Select box `i` (-1: none); its scope shows in the panel. Returns the frame to show, if another. */
  select(i: number, frame: number): number | null {
    this.selected = i;
    const b = this.boxes[i];
    if (!b) return null;
    this.scope = b.frames.length === 0 ? 'all' : 'current';
    return b.frames.length && !b.frames.includes(frame) ? b.frames[0] : null;
  }

  deleteSelected(): void {
    if (!this.current) return;
    const at = this.selected;
    this.selected = -1;
    this.commit(this.boxes.filter((_, i) => i !== at));
  }

  setScope(s: RoiScope, frame: number): void {
    this.scope = s;
    if (this.current) {
      const frames = scopeFrames(s, frame);
      this.commit(this.boxes.map((b, i) => (i === this.selected ? { ...b, frames } : b)));
    }
  }

  private replaceSelected(b: Box): void {
    this.commit(this.boxes.map((x, i) => (i === this.selected ? b : x)));
  }

  /** Move the selected box (Alt+arrows); false when none is selected. */
  nudge(dx: number, dy: number, rows: number, columns: number): boolean {
    const b = this.current;
    if (!b) return false;
    this.replaceSelected(moveBox(b, dx, dy, rows, columns));
    return true;
  }

  /** Move the selected box's bottom-right corner (Ctrl+Alt+arrows); false when none is selected. */
  grow(dx: number, dy: number, rows: number, columns: number): boolean {
    const b = this.current;
    if (!b) return false;
    this.replaceSelected(growBox(b, dx, dy, rows, columns));
    return true;
  }

  /** Add a box over the middle quarter of the image (Enter with the ROI tool) and select it. */
  addCentred(rows: number, columns: number, frame: number): void {
    const b = snap({ y0: rows * 0.375, x0: columns * 0.375, y1: rows * 0.625, x1: columns * 0.625, frames: scopeFrames(this.scope, frame) }, rows, columns);
    this.commit([...this.boxes, b]);
    this.selected = this.boxes.length - 1;
  }

  /** The frames a new box gets. */
  newBoxFrames(frame: number): number[] {
    return scopeFrames(this.scope, frame);
  }
}

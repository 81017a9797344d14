/**
 * The measurements of every file (Length and Angle tools), kept by the server while it lives
 * (`GET/PUT /api/file/{i}/measurements`): loaded when a file is shown, saved whole after each
 * change (the server answers the canonical list, with its values and labels). One store for
 * all viewports, so a file measured in one cell shows the same lines in another.
 */

import { SvelteMap } from 'svelte/reactivity';
import type { Api } from '../lib/api';
import { toPairs, valueOf, type MeasureKind, type Measurement } from '../lib/measure';
import type { Point } from '../lib/viewport';

/** A measurement being drawn (or a handle being moved): image points, on `file`/`frame`. */
export interface MeasureDraft {
  file: number;
  frame: number;
  kind: MeasureKind;
  points: Point[];
  /** The measurement being edited (its index in the file's list), or null for a new one. */
  editing: number | null;
  /** A new angle drawn by clicks: how many of its points are placed (the rest follow the pointer). */
  fixed: number;
}

export class MeasurementStore {
  api: Api | null = null;
  readonly byFile = new SvelteMap<number, Measurement[]>();
  draft = $state.raw<MeasureDraft | null>(null);
  selected = $state.raw<{ file: number; index: number } | null>(null);
  error = $state<string | null>(null);
  /** Files whose list is being fetched, and that fetch (a commit waits for it). */
  private loading = new Map<number, Promise<void>>();

  list(file: number | null): Measurement[] {
    return file === null ? [] : (this.byFile.get(file) ?? []);
  }

  /** Fetch a file's measurements once (each time it is shown again they are already here). */
  load(file: number | null): void {
    const api = this.api;
    if (file === null || !api || this.byFile.has(file) || this.loading.has(file)) return;
    // a save that answered first holds the newer list: the fetch never overwrites it
    const p = api
      .measurements(file)
      .then(
        (r) => {
          if (!this.byFile.has(file)) this.byFile.set(file, r.measurements);
        },
        () => {
          if (!this.byFile.has(file)) this.byFile.set(file, []);
        },
      )
      .finally(() => this.loading.delete(file));
    this.loading.set(file, p);
  }

  /** The file's list once its fetch (if one is running) has answered. */
  private async current(file: number): Promise<Measurement[]> {
    const p = this.loading.get(file);
    if (p && !this.byFile.has(file)) await p;
    return this.list(file);
  }

  /** Save `list` as the file's whole list; the server's answer replaces it. */
  async save(file: number, list: Measurement[]): Promise<void> {
    const api = this.api;
    if (!api) return;
    const before = this.byFile.get(file) ?? [];
    this.byFile.set(file, list);
    try {
      const r = await api.putMeasurements(file, list.map(({ kind, frame, points, label }) => ({ kind, frame, points, label })));
      this.byFile.set(file, r.measurements);
      this.error = null;
    } catch (e) {
      this.byFile.set(file, before);
      this.error = `Saving measurements failed: ${e instanceof Error ? e.message : String(e)}`;
    }
  }

  /**
   * Add the finished draft (or apply an edited one), computing its value until the server answers.
   * A line drawn while the file's list is still being fetched joins that list (never replaces it).
   */
  commit(d: MeasureDraft, spacing: readonly number[] | null | undefined): Promise<void> {
    const { value, unit } = valueOf(d.kind, d.points, spacing);
    const m: Measurement = { kind: d.kind, frame: d.frame, points: toPairs(d.points), value, unit, at_detector: false, label: null };
    return this.current(d.file).then((current) => {
      const list = [...current];
      if (d.editing === null) list.push(m);
      else list[d.editing] = { ...list[d.editing], points: m.points, value, unit };
      this.selected = { file: d.file, index: d.editing ?? list.length - 1 };
      return this.save(d.file, list);
    });
  }

  /** Delete the selected measurement; true when there was one. */
  deleteSelected(): boolean {
    const s = this.selected;
    if (!s) return false;
    const list = this.list(s.file).filter((_, i) => i !== s.index);
    this.selected = null;
    void this.save(s.file, list);
    return true;
  }
}

export const measurements = new MeasurementStore();

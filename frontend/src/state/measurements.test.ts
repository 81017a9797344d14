import { describe, expect, it } from 'vitest';
import type { Api } from '../lib/api';
import type { Measurement } from '../lib/measure';
import { MeasurementStore, type MeasureDraft } from './measurements.svelte';

type Put = Pick<Measurement, 'kind' | 'frame' | 'points' | 'label'>;

/** A server that answers the GET only when told to, and PUTs at once (the canonical list). */
function fakeApi(saved: Measurement[]) {
  let answerGet: (() => void) | null = null;
  const puts: Put[][] = [];
  const api = {
    measurements: () =>
      new Promise<{ measurements: Measurement[] }>((resolve) => {
        answerGet = () => resolve({ measurements: saved });
      }),
    putMeasurements: (_file: number, list: Put[]) => {
      puts.push(list);
      return Promise.resolve({ measurements: list.map((m) => ({ ...m, value: 1, unit: 'mm', at_detector: false })) as Measurement[] });
    },
  } as unknown as Api;
  return { api, puts, answer: () => answerGet?.() };
}

const earlier: Measurement = { kind: 'length', frame: 0, points: [[0, 0], [3, 4]], value: 5, unit: 'px', at_detector: false, label: null };
const draft: MeasureDraft = { file: 0, frame: 0, kind: 'length', points: [{ x: 1, y: 1 }, { x: 1, y: 9 }], editing: null, fixed: 2 };

const flush = () => new Promise((r) => setTimeout(r, 0));

describe('measurement store', () => {
  it('a line drawn while the file list is loading joins the saved list, never replaces it', async () => {
    const store = new MeasurementStore();
    const server = fakeApi([earlier]);
    store.api = server.api;
    store.load(0);
    const done = store.commit(draft, null);
    await flush();
    expect(server.puts).toEqual([]); // waits for the list it adds to
    server.answer();
    await done;
    expect(server.puts).toHaveLength(1);
    expect(server.puts[0].map((m) => m.points)).toEqual([earlier.points, [[1, 1], [1, 9]]]);
    expect(store.list(0)).toHaveLength(2);
    expect(store.selected).toEqual({ file: 0, index: 1 });
  });

  it('a fetch that answers after a save keeps the saved list', async () => {
    const store = new MeasurementStore();
    const server = fakeApi([]);
    store.api = server.api;
    store.load(0); // the fetch is still out when a save answers (an edit on a loaded list)
    await store.save(0, [earlier]);
    server.answer(); // the older, empty list arrives last

    await flush();
    expect(store.list(0).map((m) => m.points)).toEqual([earlier.points]);
  });
});

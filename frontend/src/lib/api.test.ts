import { describe, expect, it } from 'vitest';
import { Api, ApiError, dispositionFilename, parseRaw, parseSlice, type ConnectionState } from './api';

function answer(status: number, body: BodyInit | null, headers: Record<string, string> = {}): Response {
  return new Response(body, { status, headers: { 'X-Server-Instance': '1', ...headers } });
}

describe('Api', () => {
  it('sends the bearer token on relative URLs', async () => {
    const seen: [string, string | null][] = [];
    const api = new Api('tok', () => {}, async (url, init) => {
      seen.push([url, new Headers(init?.headers).get('Authorization')]);
      return answer(200, JSON.stringify({ files: [] }));
    });
    await api.files(5);
    await api.tagsSelect(2, '(0008,1140)/0/(0008,1155)', 16, 64);
    expect(seen[0]).toEqual(['api/files?since=5', 'Bearer tok']);
    expect(seen[1][0]).toBe('api/file/2/tags/select?path=%280008%2C1140%29%2F0%2F%280008%2C1155%29&offset=16&limit=64');
  });

  it('reports 401, a restarted server and an unreachable one', async () => {
    const states: ConnectionState[] = [];
    let next: () => Promise<Response> = async () => answer(200, '{}');
    const api = new Api(null, (s) => states.push(s), () => next());
    await api.health();
    next = async () => {
      throw new TypeError('Failed to fetch');
    };
    await expect(api.health()).rejects.toMatchObject({ code: 'unreachable' });
    next = async () => answer(200, '{}');
    await api.health();
    next = async () => answer(200, '{}', { 'X-Server-Instance': '2' });
    await api.health();
    expect(states).toEqual(['stopped', 'ok', 'restarted']);

    const states2: ConnectionState[] = [];
    const api2 = new Api('bad', (s) => states2.push(s), async () =>
      answer(401, JSON.stringify({ code: 'unauthorized', error: 'missing or invalid access token' })),
    );
    const err = await api2.health().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).code).toBe('unauthorized');
    expect(states2).toEqual(['unauthorized']);
  });

  it('turns an error body into ApiError with the server message', async () => {
    const api = new Api('t', () => {}, async () =>
      answer(400, JSON.stringify({ code: 'bad_request', error: 'box 1: ymin must be finite' })),
    );
    await expect(api.putAnnotations(0, { num_roi: 0, roi_coords: [], roi_frames: [] })).rejects.toMatchObject({
      status: 400,
      code: 'bad_request',
      message: 'box 1: ymin must be finite',
    });
  });

  it('treats a missing overlay as null', async () => {
    const api = new Api('t', () => {}, async () => answer(404, JSON.stringify({ code: 'no_overlay', error: 'none' })));
    expect(await api.overlay(0, 0)).toBeNull();
  });
});

describe('parseRaw', () => {
  it('types samples by bits allocated and pixel representation', () => {
    const buf = new Int16Array([-1000, 0, 1000, 32767]).buffer;
    const f = parseRaw(
      buf,
      new Headers({
        'X-Frame-Rows': '2',
        'X-Frame-Columns': '2',
        'X-Frame-Bits-Allocated': '16',
        'X-Frame-Pixel-Representation': '1',
        'X-Frame-Samples-Per-Pixel': '1',
        'X-Frame-Photometric-Interpretation': 'MONOCHROME1',
        'X-Frame-Rescale-Slope': '2',
        'X-Frame-Rescale-Intercept': '-1024',
        'X-Frame-Default-Wc': '40',
        'X-Frame-Default-Ww': '400',
      }),
    );
    expect(f.data).toBeInstanceOf(Int16Array);
    expect([...f.data]).toEqual([-1000, 0, 1000, 32767]);
    expect(f).toMatchObject({ rows: 2, columns: 2, slope: 2, intercept: -1024, photometric: 'MONOCHROME1' });
    expect(f.defaultWindow).toEqual({ center: 40, width: 400 });
  });
  it('rejects a short body', () => {
    expect(() => parseRaw(new ArrayBuffer(2), new Headers({ 'X-Frame-Rows': '2', 'X-Frame-Columns': '2' }))).toThrow(/expected 4/);
  });
});

describe('dispositionFilename', () => {
  it('reads the attachment name', () => {
    expect(dispositionFilename('attachment; filename="dcmview-annotations.csv"', 'x')).toBe('dcmview-annotations.csv');
    expect(dispositionFilename(null, 'x')).toBe('x');
  });
});

describe('stack slices and statistics', () => {
  const heads = (h: Record<string, string>): Headers =>
    new Headers({ 'X-Frame-Rows': '1', 'X-Frame-Columns': '3', 'X-Frame-Bits-Allocated': '16', 'X-Frame-Pixel-Representation': '1', ...h });

  it('reads the spacing and the slice file/frame of a slice', () => {
    const s = parseSlice(new Int16Array([1, -2, 3]).buffer, heads({ 'X-Pixel-Spacing': '2.5\\0.5', 'X-Slice-File': '14', 'X-Slice-Frame': '0' }));
    expect([s.pixelSpacing, s.sliceFile, s.sliceFrame, Array.from(s.data)]).toEqual([[2.5, 0.5], 14, 0, [1, -2, 3]]);
    const r = parseSlice(new Int16Array([1, 2, 3]).buffer, heads({}));
    expect([r.pixelSpacing, r.sliceFile]).toEqual([null, null]);
  });

  it('float32 modality values become int32 samples with a slope (any renderer draws them)', () => {
    const values = new Float32Array([-1000.5, 0.25, 3071]);
    const s = parseSlice(values.buffer, heads({ 'X-Frame-Bits-Allocated': '32', 'X-Frame-Sample-Format': 'float' }));
    expect(s.data).toBeInstanceOf(Int32Array);
    expect(s.intercept).toBe(0);
    Array.from(s.data).forEach((v, i) => expect(v * s.slope).toBeCloseTo(values[i], 4));
  });

  it('asks the stats routes with the box, the shape and (series) the axis', async () => {
    const seen: string[] = [];
    const api = new Api(null, () => {}, async (url) => {
      seen.push(url);
      return answer(200, JSON.stringify({ n: 1 }));
    });
    await api.frameStats(3, 2, 'rect', { y0: 1, x0: 2, y1: 3, x1: 4 });
    await api.sliceStats('s0', 7, 1, 'ellipse', { y0: 1, x0: 2, y1: 3, x1: 4 });
    expect(seen).toEqual([
      'api/file/3/frame/2/stats?shape=rect&y0=1&x0=2&y1=3&x1=4',
      'api/series/s0/slice/7/stats?shape=ellipse&y0=1&x0=2&y1=3&x1=4&axis=1',
    ]);
  });
});

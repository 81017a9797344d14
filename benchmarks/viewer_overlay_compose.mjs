// Viewer-side cost of one frame's overlay layer (issue 14): composeSegments of
// frontend/src/lib/overlays.ts on a 512×512 frame with 20 segments, as a binary label map
// (one `labels` map) and as a fractional SEG (20 graded `segment/n` masks), fill and outline.
//
//     node benchmarks/viewer_overlay_compose.mjs
//
// The module is transpiled with the frontend's own TypeScript (frontend/node_modules) and timed
// in Node's V8 (the engine of the Chromium the viewer runs in); median of 15 runs after 3 warm-ups.
import { createRequire } from 'node:module';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const ts = createRequire(join(root, 'frontend/package.json'))('typescript');
const src = readFileSync(join(root, 'frontend/src/lib/overlays.ts'), 'utf8');
const js = ts.transpileModule(src, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText;
const file = join(mkdtempSync(join(tmpdir(), 'overlay-compose-')), 'overlays.mjs');
writeFileSync(file, js);
const { composeSegments } = await import(pathToFileURL(file).href);

const N = 512;
const SEGMENTS = 20;
// segment k: a disc (binary) / a radial ramp (fractional); discs overlap their neighbours
const centres = Array.from({ length: SEGMENTS }, (_, k) => [64 + ((k * 97) % 384), 64 + ((k * 181) % 384), 40 + (k % 5) * 12]);
const colours = new Map(centres.map((_, k) => [k + 1, [(k * 53) % 256, (k * 101) % 256, (k * 151) % 256]]));
const labels = new Uint8Array(N * N);
const masks = centres.map(() => new Uint8Array(N * N));
for (let y = 0; y < N; y++)
  for (let x = 0; x < N; x++) {
    const i = y * N + x;
    centres.forEach(([cy, cx, r], k) => {
      const d = Math.hypot(y - cy, x - cx);
      if (d <= r) labels[i] = k + 1;
      if (d <= 1.5 * r) masks[k][i] = Math.round(255 * (1 - d / (1.5 * r)));
    });
  }
const covered = labels.reduce((a, v) => a + (v ? 1 : 0), 0);
const labelSources = [{ kind: 'labels', map: { rows: N, columns: N, data: labels }, colours }];
const maskSources = masks.map((data, k) => ({ kind: 'mask', map: { rows: N, columns: N, data }, number: k + 1, colour: colours.get(k + 1) }));

function time(sources, outline) {
  for (let i = 0; i < 3; i++) composeSegments(sources, N, N, outline);
  const t = [];
  for (let i = 0; i < 15; i++) {
    const t0 = performance.now();
    composeSegments(sources, N, N, outline);
    t.push(performance.now() - t0);
  }
  t.sort((a, b) => a - b);
  return t[7];
}
console.log(`${N}×${N}, ${SEGMENTS} segments (${((100 * covered) / (N * N)).toFixed(0)} % of the pixels labelled); node ${process.version}`);
for (const [name, sources] of [['binary label map', labelSources], ['fractional, 20 masks', maskSources]])
  for (const outline of [false, true]) console.log(`  ${name}, ${outline ? 'outline' : 'fill'}: ${time(sources, outline).toFixed(2)} ms per frame`);

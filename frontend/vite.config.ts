/// <reference types="vitest/config" />
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

// The production build goes straight into dcmview-server's package data, so a clone or a
// wheel serves the viewer without Node. `base: './'` keeps every URL relative: the viewer
// works under a path prefix (reverse proxy, ssh -L) as well as at `/`.
const outDir = fileURLToPath(
  new URL('../packages/dcmview-server/src/dcmview_server/static', import.meta.url),
);

// `npm run dev` proxies the API to a running `dcmview` (set DCMVIEW_DEV_SERVER to its origin).
const devServer = process.env.DCMVIEW_DEV_SERVER ?? 'http://127.0.0.1:8888';

export default defineConfig({
  base: './',
  plugins: [svelte()],
  build: {
    outDir,
    emptyOutDir: true,
    assetsDir: 'assets',
    target: 'es2022',
    sourcemap: false,
    reportCompressedSize: true,
  },
  server: {
    proxy: { '/api': { target: devServer, changeOrigin: false } },
  },
  test: {
    include: ['src/**/*.test.ts'],
    environment: 'node',
  },
});

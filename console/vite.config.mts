import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));

/**
 * The console: a static single-page app built to console/dist. Preact's JSX is compiled by Vite's
 * own transform (no Babel), so the build stays fast on a busy machine.
 */
export default defineConfig({
  root,
  base: '/',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // Every browser that runs ES2022 has module preload: no polyfill in the first load.
    modulePreload: { polyfill: false },
    reportCompressedSize: false,
  },
  // `npm run dev:console` against `npm start` on :4000: the API and config.json come from there.
  server: {
    proxy: { '/v1': 'http://localhost:4000', '/config.json': 'http://localhost:4000' },
  },
});

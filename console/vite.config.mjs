import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = (relative) => fileURLToPath(new globalThis.URL(relative, import.meta.url));

// The console is served by the function app under /console/ (functions/console.ts reads dist/console).
export default defineConfig({
  root: here('.'),
  base: '/console/',
  logLevel: 'warn',
  build: {
    outDir: here('../dist/console'),
    emptyOutDir: true,
    manifest: true,
    target: 'es2022',
    // Keeps the page free of inline script, which the Content-Security-Policy forbids.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
  },
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
});

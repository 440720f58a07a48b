import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** One file of the console's build, held in memory (the whole build is a few hundred KB). */
export interface ConsoleFile {
  readonly body: Buffer;
  readonly contentType: string;
}

export type ConsoleFiles = ReadonlyMap<string, ConsoleFile>;

export interface StaticAnswer {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body?: Buffer;
}

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

/** Vite names every file under `assets/` by its content hash, so a name never changes meaning. */
const HASHED_PREFIX = 'assets/';
const IMMUTABLE = 'public, max-age=31536000, immutable';

/**
 * The page may run only its own scripts and styles and talk only to this origin and the staff
 * identity provider (discovery and token requests); nothing inline, no framing.
 */
export function contentSecurityPolicy(issuer: string): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    `connect-src 'self' ${new URL(issuer).origin}`,
    "manifest-src 'self'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

const COMMON_HEADERS = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
} as const;

/**
 * What `/console/{path}` answers: a file of the build where one has that name (hashed assets
 * cached for good), a 404 for a missing asset, and otherwise the page itself, revalidated on every
 * load, so that a deep link such as `/console/session` opens the console on that screen.
 */
export function consoleAnswer(files: ConsoleFiles, requestPath: string, csp: string): StaticAnswer {
  const name = requestPath.replace(/^\/+/, '');
  const file = name === '' || name === 'index.html' ? undefined : files.get(name);
  if (file !== undefined) {
    return {
      status: 200,
      headers: {
        ...COMMON_HEADERS,
        'content-type': file.contentType,
        'cache-control': name.startsWith(HASHED_PREFIX) ? IMMUTABLE : 'no-cache',
      },
      body: file.body,
    };
  }
  if (name.startsWith(HASHED_PREFIX) || name.startsWith('.')) {
    return {
      status: 404,
      headers: {
        ...COMMON_HEADERS,
        'content-type': 'text/plain; charset=utf-8',
        'cache-control': 'no-cache',
      },
      body: Buffer.from('Not found'),
    };
  }
  const index = files.get('index.html');
  if (index === undefined) {
    return {
      status: 503,
      headers: {
        ...COMMON_HEADERS,
        'content-type': 'text/plain; charset=utf-8',
        'cache-control': 'no-store',
      },
      body: Buffer.from('The console is not built: run `npm run build`.'),
    };
  }
  return {
    status: 200,
    headers: {
      ...COMMON_HEADERS,
      'content-type': index.contentType,
      'cache-control': 'no-cache',
      'content-security-policy': csp,
      'x-frame-options': 'DENY',
    },
    body: index.body,
  };
}

async function listFiles(dir: string, prefix = ''): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const names: string[] = [];
  for (const entry of entries) {
    // Vite's manifest (under .vite/) describes the build; it is not for browsers.
    if (entry.name.startsWith('.')) continue;
    const relative = `${prefix}${entry.name}`;
    if (entry.isDirectory()) names.push(...(await listFiles(path.join(dir, entry.name), `${relative}/`)));
    else if (entry.isFile()) names.push(relative);
  }
  return names;
}

/**
 * The folder of the console's build: `console/` beside the compiled module's `shared/` (in `dist/`
 * and in `dist-dev/`), or, when tests run the sources, `dist-dev/console` or `dist/console`. The
 * Vite manifest marks a build, so the source folder `console/` is never mistaken for one.
 */
export function consoleBuildDir(): string | undefined {
  const candidates = ['../../console/', '../../dist-dev/console/', '../../dist/console/'].map((relative) =>
    fileURLToPath(new URL(relative, import.meta.url)),
  );
  return candidates.find((dir) => existsSync(path.join(dir, '.vite', 'manifest.json')));
}

export async function loadConsoleFiles(dir: string | undefined): Promise<ConsoleFiles> {
  const files = new Map<string, ConsoleFile>();
  if (dir === undefined) return files;
  for (const name of await listFiles(dir)) {
    files.set(name, {
      body: await readFile(path.join(dir, name)),
      contentType: CONTENT_TYPES[path.extname(name).toLowerCase()] ?? 'application/octet-stream',
    });
  }
  return files;
}

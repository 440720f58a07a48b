import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { listRegistrations, type Registration } from '../../shared/host/registry.js';

/**
 * Imports every function file of a folder, as the Functions host does with `main: functions/*.js`,
 * and returns the registrations they made. Works on the compiled folder (`.js`) and, under vitest,
 * on the TypeScript sources.
 */
export async function loadFunctions(functionsDir: string): Promise<readonly Registration[]> {
  const entries = await readdir(functionsDir);
  const files = entries
    .filter((name) => /\.(js|mjs|ts)$/.test(name) && !name.endsWith('.d.ts') && !name.endsWith('.test.ts'))
    .sort();
  for (const file of files) {
    await import(pathToFileURL(path.join(functionsDir, file)).href);
  }
  return listRegistrations();
}

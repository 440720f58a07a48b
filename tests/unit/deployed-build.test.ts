import { readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '../..');
/** What Azure runs: `npm run build` compiles these, and nothing else belongs in the package. */
const SERVICE_FOLDERS = ['functions', 'shared'];
/** Local tools and tests: never compiled into dist/ nor uploaded. */
const DEV_FOLDERS = ['devdir', 'scripts', 'bench', 'tests'];

function parseTsconfig(file: string): ts.ParsedCommandLine {
  const read = ts.readConfigFile(path.join(root, file), (f) => ts.sys.readFile(f));
  if (read.error) throw new Error(ts.flattenDiagnosticMessageText(read.error.messageText, '\n'));
  return ts.parseJsonConfigFileContent(read.config as object, ts.sys, root);
}

/** Every project source the compiler reads for a config, following imports: what it would emit. */
function compiledSources(file: string): string[] {
  const parsed = parseTsconfig(file);
  const program = ts.createProgram(parsed.fileNames, parsed.options);
  return program
    .getSourceFiles()
    .map((source) => path.relative(root, source.fileName))
    .filter((name) => !name.startsWith('..') && !name.split(path.sep).includes('node_modules'))
    .sort();
}

const topFolder = (file: string): string => file.split(path.sep)[0] ?? '';

describe('the deployed build (npm run build, what azure.yaml ships)', () => {
  const deployed = compiledSources('tsconfig.build.json');

  it('compiles the function files and the service code', () => {
    expect(deployed).toContain(path.join('functions', 'health.ts'));
    expect(deployed).toContain(path.join('shared', 'config.ts'));
  });

  it('includes no file from devdir, scripts, bench or tests, even through an import', () => {
    const outside = deployed.filter((file) => !SERVICE_FOLDERS.includes(topFolder(file)));
    expect(outside).toEqual([]);
  });

  it('writes to dist/, which package.json "main" loads', () => {
    const { options } = parseTsconfig('tsconfig.build.json');
    expect(options.outDir).toBe(path.join(root, 'dist'));
    const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { main: string };
    expect(pkg.main).toBe('dist/functions/*.js');
  });

  it('keeps the dev tools build out of dist/', () => {
    const { options } = parseTsconfig('tsconfig.dev.json');
    expect(options.outDir).toBeDefined();
    expect(path.relative(path.join(root, 'dist'), options.outDir ?? '').startsWith('..')).toBe(true);
  });

  it('is not sent with a deployment: .funcignore lists every dev folder and the dev build', () => {
    const ignored = readFileSync(path.join(root, '.funcignore'), 'utf8')
      .split('\n')
      .map((line) => line.trim().replace(/\/$/, ''));
    const devBuild = path.relative(root, parseTsconfig('tsconfig.dev.json').options.outDir ?? '');
    expect([...DEV_FOLDERS, devBuild].filter((folder) => !ignored.includes(folder))).toEqual([]);
  });
});

import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { Validator } from '@seriousme/openapi-schema-validator';
import { parse } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { API_ROUTE_PREFIX, apiRoute, httpRegistrations } from '../../shared/host/registry.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const SPEC_FILE = path.join(ROOT, 'docs/openapi.yaml');
const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'] as const;

/** What the app serves: every registered HTTP operation, and the admin call of the periodic sync. */
function servedOperations(): string[] {
  const operations = ['POST /admin/functions/periodicSync'];
  for (const registration of httpRegistrations()) {
    const route = registration.options.route ?? registration.name;
    // The console's pages are served beside the API, not as part of it.
    if (!route.startsWith(API_ROUTE_PREFIX)) continue;
    // The catch-all answers unknown routes with 404/405; it is not an operation of the API.
    if (route.includes('{*')) continue;
    for (const method of registration.options.methods ?? HTTP_METHODS.map((m) => m.toUpperCase())) {
      operations.push(`${method.toUpperCase()} ${toOpenApiPath(apiRoute(route))}`);
    }
  }
  return operations;
}

interface Spec {
  openapi: string;
  paths: Record<string, Partial<Record<(typeof HTTP_METHODS)[number], unknown>>>;
}

let spec: Spec;

beforeAll(async () => {
  spec = parse(await readFile(SPEC_FILE, 'utf8')) as Spec;
  for (const file of await readdir(path.join(ROOT, 'functions'))) {
    if (file.endsWith('.ts')) await import(path.join(ROOT, 'functions', file));
  }
});

function documented(): Set<string> {
  const operations = new Set<string>();
  for (const [route, item] of Object.entries(spec.paths)) {
    for (const method of HTTP_METHODS) if (item[method]) operations.add(`${method.toUpperCase()} ${route}`);
  }
  return operations;
}

/** `environments/{envId:alpha}/users/{userId?}` → `/environments/{envId}/users/{userId}`. */
function toOpenApiPath(route: string): string {
  return `/${route.replace(/^\/+/, '').replace(/\{\*?([A-Za-z_][A-Za-z0-9_]*)(?::[A-Za-z]+)?\??\}/g, '{$1}')}`;
}

describe('docs/openapi.yaml', () => {
  it('is a valid OpenAPI 3.x document', async () => {
    const validator = new Validator();
    const result = await validator.validate(spec as unknown as Record<string, unknown>);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(spec.openapi).toMatch(/^3\./);
  });

  it('is checked by a validator that does find errors', async () => {
    const broken = {
      ...spec,
      info: undefined,
      paths: { ...spec.paths, '/x': { get: { responses: 'none' } } },
    };
    const result = await new Validator().validate(
      JSON.parse(JSON.stringify(broken)) as Record<string, unknown>,
    );
    expect(result.valid).toBe(false);
  });

  it('describes every route the app serves, the admin call included', () => {
    const operations = documented();
    const missing = servedOperations().filter((route) => !operations.has(route));
    expect(missing).toEqual([]);
  });

  it('documents no operation the app does not serve', () => {
    const served = new Set(servedOperations());
    expect(served.size).toBeGreaterThanOrEqual(15);
    expect([...documented()].filter((operation) => !served.has(operation))).toEqual([]);
  });
});

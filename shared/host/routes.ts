/**
 * Route templates as the Functions host (ASP.NET Core routing) reads them: literal segments,
 * `{name}`, optional `{name?}`, catch-all `{*name}`, and `{name:constraint}` with the common
 * constraints. Templates are tried most specific first, so `tenants/{name}` wins over `{*path}`.
 */
export interface CompiledRoute<T> {
  readonly template: string;
  readonly methods: ReadonlySet<string>;
  readonly value: T;
  match(path: string): Record<string, string> | undefined;
  /** Lower sorts first. */
  readonly precedence: readonly number[];
}

type Segment =
  | { kind: 'literal'; text: string }
  | { kind: 'param'; name: string; optional: boolean; constraint: string | undefined }
  | { kind: 'catchAll'; name: string };

const CONSTRAINTS: Record<string, RegExp> = {
  int: /^-?\d+$/,
  long: /^-?\d+$/,
  guid: /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i,
  alpha: /^[a-z]+$/i,
  bool: /^(true|false)$/i,
};

function parseSegment(raw: string, template: string): Segment {
  const param = /^\{(\*)?([A-Za-z_][A-Za-z0-9_]*)(?::([A-Za-z]+))?(\?)?\}$/.exec(raw);
  if (!param) {
    if (raw.includes('{') || raw.includes('}'))
      throw new Error(`Unsupported route segment "${raw}" in "${template}"`);
    return { kind: 'literal', text: raw.toLowerCase() };
  }
  const [, star, name, constraint, optional] = param;
  if (star) return { kind: 'catchAll', name: name! };
  if (constraint !== undefined && !(constraint.toLowerCase() in CONSTRAINTS)) {
    throw new Error(`Unsupported route constraint "${constraint}" in "${template}"`);
  }
  return { kind: 'param', name: name!, optional: optional === '?', constraint: constraint?.toLowerCase() };
}

/** ASP.NET-style precedence of one segment: literals before constrained before plain before optional before catch-all. */
function segmentPrecedence(segment: Segment): number {
  switch (segment.kind) {
    case 'literal':
      return 1;
    case 'param':
      if (segment.optional) return 4;
      return segment.constraint ? 2 : 3;
    case 'catchAll':
      return 5;
  }
}

function decode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    // A malformed escape cannot be a value we route on; keep the raw text so matching fails cleanly.
    return segment;
  }
}

export function compileRoute<T>(template: string, methods: readonly string[], value: T): CompiledRoute<T> {
  const trimmed = template.replace(/^\/+|\/+$/g, '');
  const segments = trimmed === '' ? [] : trimmed.split('/').map((s) => parseSegment(s, template));
  const catchAllIndex = segments.findIndex((s) => s.kind === 'catchAll');
  if (catchAllIndex !== -1 && catchAllIndex !== segments.length - 1) {
    throw new Error(`A catch-all must be the last segment in "${template}"`);
  }
  const match = (path: string): Record<string, string> | undefined => {
    const parts = path.replace(/^\/+|\/+$/g, '') === '' ? [] : path.replace(/^\/+|\/+$/g, '').split('/');
    const params: Record<string, string> = {};
    for (let i = 0; i < segments.length; i++) {
      const segment = segments[i]!;
      const part = parts[i];
      if (segment.kind === 'catchAll') {
        params[segment.name] = parts.slice(i).map(decode).join('/');
        return params;
      }
      if (part === undefined) {
        // Only trailing optional parameters may be absent.
        if (segment.kind === 'param' && segments.slice(i).every((s) => s.kind === 'param' && s.optional))
          return params;
        return undefined;
      }
      if (segment.kind === 'literal') {
        if (decode(part).toLowerCase() !== segment.text) return undefined;
        continue;
      }
      const value = decode(part);
      if (value === '') return undefined;
      if (segment.constraint && !CONSTRAINTS[segment.constraint]!.test(value)) return undefined;
      params[segment.name] = value;
    }
    return parts.length === segments.length ? params : undefined;
  };
  return {
    template,
    methods: new Set(methods.map((m) => m.toUpperCase())),
    value,
    match,
    precedence: segments.map(segmentPrecedence),
  };
}

function comparePrecedence(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    // A template that ends earlier is less specific than one that continues with a literal.
    const x = a[i] ?? 6;
    const y = b[i] ?? 6;
    if (x !== y) return x - y;
  }
  return 0;
}

export class RouteTable<T> {
  private readonly routes: CompiledRoute<T>[] = [];

  add(template: string, methods: readonly string[], value: T): void {
    this.routes.push(compileRoute(template, methods, value));
    this.routes.sort((a, b) => comparePrecedence(a.precedence, b.precedence));
  }

  /** The first route, most specific first, whose template and method both match. */
  find(method: string, path: string): { value: T; params: Record<string, string> } | undefined {
    const upper = method.toUpperCase();
    for (const route of this.routes) {
      if (!route.methods.has(upper)) continue;
      const params = route.match(path);
      if (params) return { value: route.value, params };
    }
    return undefined;
  }
}

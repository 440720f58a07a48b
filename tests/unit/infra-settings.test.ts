import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
  existsSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LOCAL_ONLY_SETTINGS, SETTING_NAMES, loadConfig, parseSecretsKeys } from '../../shared/config.js';

/**
 * The Bicep compiler is a download these machines cannot make, so the templates are read here as
 * text: just enough of Bicep's grammar (strings with `${}` interpolation, comments, brackets) to
 * find the app settings wherever a template defines them, without being fooled by a comment or a
 * brace inside a string.
 */
const root = path.resolve(import.meta.dirname, '../..');
const infraDir = path.join(root, 'infra');

/** Settings Azure itself reads (not the code); allowed in the templates besides SETTING_NAMES. */
const PLATFORM_SETTINGS = new Set([
  'APPLICATIONINSIGHTS_CONNECTION_STRING',
  'APPLICATIONINSIGHTS_AUTHENTICATION_STRING',
]);
/** The identity-based form of AzureWebJobsStorage, as the host and shared/config.ts read it. */
const STORAGE_IDENTITY_PREFIX = 'AzureWebJobsStorage__';

function filesUnder(dir: string, suffix: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((name) => name.endsWith(suffix))
    .map((name) => path.join(dir, name))
    .sort();
}

// ---- a minimal Bicep reader ----------------------------------------------------------------

/** Index just after the string that opens at `start` (a `'` or `'''`). */
function skipString(text: string, start: number): number {
  if (text.startsWith("'''", start)) {
    const end = text.indexOf("'''", start + 3);
    if (end < 0) throw new Error(`unterminated multi-line string at ${start}`);
    return end + 3;
  }
  let i = start + 1;
  while (i < text.length) {
    const c = text[i];
    if (c === '\\') i += 2;
    else if (c === "'") return i + 1;
    else if (c === '$' && text[i + 1] === '{') i = skipBrackets(text, i + 1);
    else i += 1;
  }
  throw new Error(`unterminated string at ${start}`);
}

/** Index just after a comment that starts at `start`, or `start` when none starts there. */
function skipComment(text: string, start: number): number {
  if (text.startsWith('//', start)) {
    const end = text.indexOf('\n', start);
    return end < 0 ? text.length : end;
  }
  if (text.startsWith('/*', start)) {
    const end = text.indexOf('*/', start + 2);
    if (end < 0) throw new Error(`unterminated comment at ${start}`);
    return end + 2;
  }
  return start;
}

const CLOSER: Record<string, string> = { '{': '}', '[': ']', '(': ')' };

/** `open` indexes `{`, `[` or `(`; returns the index just after its matching closer. */
function skipBrackets(text: string, open: number): number {
  const stack: string[] = [];
  let i = open;
  while (i < text.length) {
    const c = text[i]!;
    const afterComment = skipComment(text, i);
    if (afterComment !== i) {
      i = afterComment;
    } else if (c === "'") {
      i = skipString(text, i);
    } else if (c in CLOSER) {
      stack.push(CLOSER[c]!);
      i += 1;
    } else if (c === '}' || c === ']' || c === ')') {
      if (stack.pop() !== c) throw new Error(`unbalanced "${c}" at ${i}`);
      i += 1;
      if (stack.length === 0) return i;
    } else {
      i += 1;
    }
  }
  throw new Error(`unclosed bracket at ${open}`);
}

interface Entry {
  readonly key: string;
  /** Index of the value's first character. */
  readonly valueStart: number;
  /** The rest of the line after `key:`, trimmed (whole value when it fits on one line). */
  readonly valueLine: string;
}

const ENTRY = /[ \t]*(?:([A-Za-z_][A-Za-z0-9_]*)|'((?:[^'\\]|\\.)*)')[ \t]*:[ \t]*/y;

/** The `key: value` lines directly inside the object whose `{` is at `open` (not nested ones). */
function objectEntries(text: string, open: number): Entry[] {
  const end = skipBrackets(text, open) - 1;
  const entries: Entry[] = [];
  let i = open + 1;
  let lineStart = true;
  while (i < end) {
    if (lineStart) {
      ENTRY.lastIndex = i;
      const match = ENTRY.exec(text);
      if (match) {
        const valueStart = ENTRY.lastIndex;
        const lineEnd = text.indexOf('\n', valueStart);
        entries.push({
          key: match[1] ?? match[2]!,
          valueStart,
          valueLine: text.slice(valueStart, lineEnd < 0 || lineEnd > end ? end : lineEnd).trim(),
        });
        i = valueStart;
      }
      lineStart = false;
      continue;
    }
    const c = text[i]!;
    const afterComment = skipComment(text, i);
    if (afterComment !== i) i = afterComment;
    else if (c === "'") i = skipString(text, i);
    else if (c in CLOSER) i = skipBrackets(text, i);
    else {
      if (c === '\n') lineStart = true;
      i += 1;
    }
  }
  return entries;
}

/** `{`, `[` or other first character of a value, skipping blanks. */
function valueOpener(text: string, entry: Entry): number {
  let i = entry.valueStart;
  while (/\s/.test(text[i] ?? '')) i += 1;
  return i;
}

/** The text with every comment blanked out (same length, newlines kept), strings untouched. */
function withoutComments(text: string): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const afterComment = skipComment(text, i);
    if (afterComment !== i) {
      out += text.slice(i, afterComment).replace(/[^\n]/g, ' ');
      i = afterComment;
    } else if (text[i] === "'") {
      const end = skipString(text, i);
      out += text.slice(i, end);
      i = end;
    } else {
      out += text[i];
      i += 1;
    }
  }
  return out;
}

const unquote = (value: string): string => value.replace(/^'(.*)'$/, '$1');

/** Every app setting a Bicep text defines: `sites/config` named appsettings, and `appSettings: [...]`. */
function appSettingsOf(source: string): Map<string, string> {
  const text = withoutComments(source);
  const settings = new Map<string, string>();
  const add = (key: string, value: string): void => {
    if (settings.has(key)) throw new Error(`app setting ${key} is defined twice`);
    settings.set(key, value);
  };
  const configResource =
    /resource\s+\w+\s+'Microsoft\.Web\/sites\/config@[^']+'\s*=\s*(?:if\s*\([^)]*\)\s*)?\{/g;
  for (const match of text.matchAll(configResource)) {
    const body = objectEntries(text, match.index + match[0].length - 1);
    const name = body.find((e) => e.key === 'name');
    if (name === undefined || unquote(name.valueLine) !== 'appsettings') continue;
    const properties = body.find((e) => e.key === 'properties');
    const open = properties === undefined ? -1 : valueOpener(text, properties);
    if (text[open] !== '{') {
      throw new Error('the appsettings resource must give `properties` as an object literal');
    }
    for (const entry of objectEntries(text, open)) add(entry.key, entry.valueLine);
  }
  for (const match of text.matchAll(/\bappSettings\s*:\s*\[/g)) {
    const open = match.index + match[0].length - 1;
    const end = skipBrackets(text, open) - 1;
    for (let i = text.indexOf('{', open); i >= 0 && i < end; i = text.indexOf('{', skipBrackets(text, i))) {
      const item = objectEntries(text, i);
      const name = item.find((e) => e.key === 'name');
      if (name === undefined) throw new Error('an appSettings item has no name');
      add(unquote(name.valueLine), item.find((e) => e.key === 'value')?.valueLine ?? '');
    }
  }
  return settings;
}

/** The settings of SETTING_NAMES that a set of app settings satisfies, and the ones it adds. */
function asCodeSettings(appSettings: Iterable<string>): { code: Set<string>; unknown: string[] } {
  const known = new Set<string>(SETTING_NAMES);
  const code = new Set<string>();
  const unknown: string[] = [];
  for (const name of appSettings) {
    const codeName = name.startsWith(STORAGE_IDENTITY_PREFIX) ? 'AzureWebJobsStorage' : name;
    if (known.has(codeName)) code.add(codeName);
    else if (!PLATFORM_SETTINGS.has(name)) unknown.push(name);
  }
  return { code, unknown };
}

function paramsOf(bicep: string): Map<string, { hasDefault: boolean }> {
  const params = new Map<string, { hasDefault: boolean }>();
  for (const match of bicep.matchAll(/^param\s+(\w+)\s+\w+(\s*=)?/gm)) {
    params.set(match[1]!, { hasDefault: match[2] !== undefined });
  }
  return params;
}

// ---- the reader itself ------------------------------------------------------------------------

describe('the Bicep reader', () => {
  const fixture = `
// resource fake 'Microsoft.Web/sites/config@2024-04-01' = { name: 'appsettings' }
resource settings 'Microsoft.Web/sites/config@2024-04-01' = {
  parent: site
  name: 'appsettings'
  properties: {
    // COMMENTED_OUT: 'no'
    PLAIN: 'a'
    'QUOTED_KEY': '{ not: a brace }'
    INTERPOLATED: '\${flag ? '}' : '{'}/x'
    NESTED: {
      INNER: 'not a setting'
    }
    LAST: concat('a', 'b')
  }
}
resource logs 'Microsoft.Web/sites/config@2024-04-01' = {
  name: 'logs'
  properties: {
    NOT_A_SETTING: true
  }
}
resource other 'Microsoft.Web/sites@2024-04-01' = {
  properties: {
    siteConfig: {
      appSettings: [
        {
          name: 'FROM_ARRAY'
          value: 'x'
        }
      ]
    }
  }
}`;

  it('finds exactly the app settings, wherever they are defined', () => {
    expect([...appSettingsOf(fixture).keys()].sort()).toEqual(
      ['FROM_ARRAY', 'INTERPOLATED', 'LAST', 'NESTED', 'PLAIN', 'QUOTED_KEY'].sort(),
    );
    expect(appSettingsOf(fixture).get('PLAIN')).toBe("'a'");
  });

  it('sees a setting added to the templates, and one removed', () => {
    const added = fixture.replace("PLAIN: 'a'", "PLAIN: 'a'\n    ADDED: 'b'");
    expect(appSettingsOf(added).has('ADDED')).toBe(true);
    const removed = fixture.replace("PLAIN: 'a'", '');
    expect(appSettingsOf(removed).has('PLAIN')).toBe(false);
  });

  it('refuses app settings it cannot read rather than reading none', () => {
    const computed = `
resource settings 'Microsoft.Web/sites/config@2024-04-01' = {
  name: 'appsettings'
  properties: union(base, {
    HIDDEN: 'x'
  })
}`;
    expect(() => appSettingsOf(computed)).toThrow(/object literal/);
  });

  it('maps the identity-based storage setting to AzureWebJobsStorage and flags unknown ones', () => {
    expect(asCodeSettings(['AzureWebJobsStorage__accountName', 'MAIL_FROM', 'SOMETHING_NEW'])).toEqual({
      code: new Set(['AzureWebJobsStorage', 'MAIL_FROM']),
      unknown: ['SOMETHING_NEW'],
    });
  });
});

// ---- the templates of this repository ---------------------------------------------------------

describe('infra/ and the settings the code reads', () => {
  const bicepFiles = filesUnder(infraDir, '.bicep');
  const appSettings = new Map<string, string>();
  for (const file of bicepFiles) {
    for (const [key, value] of appSettingsOf(readFileSync(file, 'utf8'))) {
      if (appSettings.has(key)) throw new Error(`app setting ${key} is defined in two places`);
      appSettings.set(key, value);
    }
  }
  const neededInAzure = SETTING_NAMES.filter((name) => !LOCAL_ONLY_SETTINGS.includes(name));

  it('reads settings only through shared/config.ts, so SETTING_NAMES is the whole list', () => {
    const sources = [
      ...filesUnder(path.join(root, 'functions'), '.ts'),
      ...filesUnder(path.join(root, 'shared'), '.ts'),
    ].map((file) => path.relative(root, file));
    const readers = sources.filter((file) =>
      /\bprocess\.env\b/.test(readFileSync(path.join(root, file), 'utf8')),
    );
    expect(readers).toEqual([path.join('shared', 'config.ts')]);
  });

  it('has templates to read', () => {
    expect(bicepFiles.map((f) => path.relative(root, f))).toContain(path.join('infra', 'main.bicep'));
    expect(appSettings.size).toBeGreaterThan(0);
  });

  it('defines every setting of SETTING_NAMES but the local-only ones, and no other setting', () => {
    const { code, unknown } = asCodeSettings(appSettings.keys());
    const missing = neededInAzure.filter((name) => !code.has(name));
    const localOnlyDefined = [...code].filter((name) => LOCAL_ONLY_SETTINGS.includes(name as never));
    expect({ missing, unknown, localOnlyDefined }).toEqual({
      missing: [],
      unknown: [],
      localOnlyDefined: [],
    });
  });

  it('reaches storage by managed identity, never by a connection string', () => {
    expect(appSettings.has('AzureWebJobsStorage')).toBe(false);
    expect(appSettings.has('AzureWebJobsStorage__accountName')).toBe(true);
  });

  it('gives exactly what loadConfig needs to start in Azure', () => {
    const samples: Record<string, string> = {
      AzureWebJobsStorage__accountName: 'stexample123',
      APPLICATIONINSIGHTS_CONNECTION_STRING: 'InstrumentationKey=00000000-0000-0000-0000-000000000000',
      APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'Authorization=AAD',
      PUBLIC_BASE_URL: 'https://func-example.azurewebsites.net',
      MANAGEMENT_ISSUER: 'https://login.example.com/management',
      MANAGEMENT_AUDIENCE: 'api://bizzstream-external-users',
      MANAGEMENT_JWKS_URI: 'https://login.example.com/management/keys',
      SECRETS_KEY: Buffer.alloc(32, 7).toString('base64'),
      SMTP_URL: 'smtps://user:password@smtp.example.com:465',
      MAIL_FROM: 'BizzStream <no-reply@example.com>',
      SYNC_SCHEDULE: '0 */15 * * * *',
      DIRECTORY_HOSTS: 'login.microsoftonline.com',
      CONSOLE_CLIENT_ID: '00000000-0000-0000-0000-0000000000c1',
      CONSOLE_SCOPE: 'api://bizzstream-external-users/manage',
    };
    const env: Record<string, string> = {
      AZURE_FUNCTIONS_ENVIRONMENT: 'Production',
      WEBSITE_INSTANCE_ID: 'test',
    };
    for (const name of appSettings.keys()) {
      const sample = samples[name];
      if (sample === undefined)
        throw new Error(`give the new app setting ${name} a sample value in this test`);
      env[name] = sample;
    }
    const config = loadConfig(env);
    expect(config.mode).toBe('azure');
    expect(config.storage).toEqual({
      kind: 'identity',
      tableServiceUrl: 'https://stexample123.table.core.windows.net',
      queueServiceUrl: 'https://stexample123.queue.core.windows.net',
      managedIdentityClientId: undefined,
    });
  });

  it('takes SECRETS_KEY and SMTP_URL from Key Vault references', () => {
    for (const name of ['SECRETS_KEY', 'SMTP_URL']) {
      expect(appSettings.get(name), name).toMatch(/^'@Microsoft\.KeyVault\(SecretUri=\$\{\w+\}\)'$/);
    }
  });

  it('lists no storage account key, SAS or connection string with a key in any template', () => {
    const forbidden = [
      /listKeys\s*\(/i,
      /listAccountSas\s*\(/i,
      /listServiceSas\s*\(/i,
      /AccountKey\s*=/i,
      /SharedAccessSignature\s*=/i,
      /SharedAccessKey\s*=/i,
      /DefaultEndpointsProtocol\s*=/i,
      /\.keys\s*\[/i,
    ];
    const files = [...bicepFiles, ...filesUnder(infraDir, '.json')];
    const found = files.flatMap((file) => {
      const text = readFileSync(file, 'utf8');
      return forbidden
        .filter((re) => re.test(text))
        .map((re) => `${path.relative(root, file)}: ${re.source}`);
    });
    expect(found).toEqual([]);
  });

  it('hardens the storage account', () => {
    const storage = bicepFiles
      .map((file) => readFileSync(file, 'utf8'))
      .filter((text) => /'Microsoft\.Storage\/storageAccounts@[^']+'\s*=/.test(text));
    expect(storage).toHaveLength(1);
    expect(storage[0]).toMatch(/allowSharedKeyAccess:\s*false/);
    expect(storage[0]).toMatch(/allowBlobPublicAccess:\s*false/);
    expect(storage[0]).toMatch(/minimumTlsVersion:\s*'TLS1_2'/);
  });

  it('runs on Flex Consumption with a system-assigned identity and identity-based deployment storage', () => {
    const all = bicepFiles.map((file) => readFileSync(file, 'utf8')).join('\n');
    expect(all).toMatch(/name:\s*'FC1'/);
    expect(all).toMatch(/type:\s*'SystemAssigned'/);
    expect(all).toMatch(/type:\s*'SystemAssignedIdentity'/);
    expect(all).toMatch(/name:\s*'node'/);
  });

  it('grants the app identity the data roles it needs', () => {
    const all = bicepFiles.map((file) => readFileSync(file, 'utf8')).join('\n');
    const builtInRoles = {
      'Storage Blob Data Owner': 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b',
      'Storage Queue Data Contributor': '974c5e8b-45b9-4653-ba55-5f855dd0fb88',
      'Storage Table Data Contributor': '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3',
      'Key Vault Secrets User': '4633458b-17de-408a-b874-0445c86b69e6',
    };
    const missing = Object.entries(builtInRoles).filter(([, id]) => !all.includes(`'${id}'`));
    expect(missing.map(([role]) => role)).toEqual([]);
    expect(all).toMatch(/enableRbacAuthorization:\s*true/);
  });

  it('passes main.bicep only parameters it declares, and every one it requires', () => {
    const declared = paramsOf(readFileSync(path.join(infraDir, 'main.bicep'), 'utf8'));
    const file = JSON.parse(readFileSync(path.join(infraDir, 'main.parameters.json'), 'utf8')) as {
      parameters: Record<string, unknown>;
    };
    const given = Object.keys(file.parameters);
    expect(given.filter((name) => !declared.has(name))).toEqual([]);
    const required = [...declared].filter(([, p]) => !p.hasDefault).map(([name]) => name);
    expect(required.filter((name) => !given.includes(name))).toEqual([]);
  });

  it('calls each module with the parameters it declares and reads only outputs it has', () => {
    // What the Bicep compiler would refuse first; it cannot run here.
    const problems: string[] = [];
    for (const file of bicepFiles) {
      const text = withoutComments(readFileSync(file, 'utf8'));
      for (const match of text.matchAll(/^module\s+(\w+)\s+'([^']+)'\s*=\s*\{/gm)) {
        const [, symbol, modulePath] = match;
        const where = `${path.relative(root, file)}: module ${symbol}`;
        const moduleFile = path.resolve(path.dirname(file), modulePath!);
        if (!existsSync(moduleFile)) {
          problems.push(`${where}: no file ${modulePath}`);
          continue;
        }
        const moduleText = readFileSync(moduleFile, 'utf8');
        const declared = paramsOf(moduleText);
        const body = objectEntries(text, match.index + match[0].length - 1);
        const paramsEntry = body.find((e) => e.key === 'params');
        const passed = paramsEntry
          ? objectEntries(text, valueOpener(text, paramsEntry)).map((e) => e.key)
          : [];
        for (const name of passed)
          if (!declared.has(name)) problems.push(`${where}: passes undeclared ${name}`);
        for (const [name, p] of declared) {
          if (!p.hasDefault && !passed.includes(name)) problems.push(`${where}: misses required ${name}`);
        }
        const outputs = new Set([...moduleText.matchAll(/^output\s+(\w+)\s/gm)].map((m) => m[1]));
        for (const used of text.matchAll(new RegExp(`\\b${symbol}\\.outputs\\.(\\w+)`, 'g'))) {
          if (!outputs.has(used[1])) problems.push(`${where}: reads missing output ${used[1]}`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it('declares every parameter it uses only once and uses every one it declares', () => {
    const problems: string[] = [];
    for (const file of bicepFiles) {
      const text = withoutComments(readFileSync(file, 'utf8'));
      const names = [...text.matchAll(/^param\s+(\w+)\s/gm)].map((m) => m[1]!);
      for (const name of names) {
        if (names.indexOf(name) !== names.lastIndexOf(name)) problems.push(`${file}: ${name} twice`);
        const uses = text.match(new RegExp(`\\b${name}\\b`, 'g'))?.length ?? 0;
        if (uses < 2) problems.push(`${path.relative(root, file)}: param ${name} is never used`);
      }
    }
    expect(problems).toEqual([]);
  });
});

describe('azure.yaml and host.json', () => {
  it('deploys this project to a function app', () => {
    const yaml = readFileSync(path.join(root, 'azure.yaml'), 'utf8');
    expect(yaml).toMatch(/^\s+host:\s*function\s*$/m);
    expect(yaml).toMatch(/^\s+project:\s*\.\s*$/m);
    for (const match of yaml.matchAll(/run:\s*node\s+(\S+)/g)) {
      expect(existsSync(path.join(root, match[1]!)), match[1]).toBe(true);
    }
  });

  it('never samples away requests or exceptions', () => {
    const host = JSON.parse(readFileSync(path.join(root, 'host.json'), 'utf8')) as {
      logging?: {
        applicationInsights?: { samplingSettings?: { isEnabled?: boolean; excludedTypes?: string } };
      };
    };
    const sampling = host.logging?.applicationInsights?.samplingSettings;
    if (sampling?.isEnabled !== false) {
      const excluded = (sampling?.excludedTypes ?? '').split(';').map((t) => t.trim());
      expect(excluded).toEqual(expect.arrayContaining(['Request', 'Exception']));
    }
  });
});

// ---- the preprovision hook --------------------------------------------------------------------

describe('infra/hooks/ensure-secrets-key.mjs', () => {
  const hook = path.join(infraDir, 'hooks', 'ensure-secrets-key.mjs');

  /** Runs the hook with a stand-in `azd` on PATH that records its arguments. */
  function runHook(env: Record<string, string>): {
    status: number | null;
    azdArgs: string[];
    stderr: string;
  } {
    const dir = mkdtempSync(path.join(tmpdir(), 'azd-hook-'));
    try {
      const log = path.join(dir, 'azd-args');
      const fake = path.join(dir, 'azd');
      writeFileSync(fake, `#!/bin/sh\nfor a in "$@"; do printf '%s\\n' "$a" >> '${log}'; done\n`);
      chmodSync(fake, 0o755);
      const result = spawnSync(process.execPath, [hook], {
        env: { PATH: `${dir}${path.delimiter}${process.env.PATH ?? ''}`, ...env },
        encoding: 'utf8',
      });
      const azdArgs = existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter(Boolean) : [];
      return { status: result.status, azdArgs, stderr: result.stderr };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  it('generates a key the app accepts for a never-provisioned environment', () => {
    const { status, azdArgs } = runHook({});
    expect(status).toBe(0);
    expect(azdArgs.slice(0, 3)).toEqual(['env', 'set', 'SECRETS_KEY']);
    expect(parseSecretsKeys(azdArgs[3]!)).toHaveLength(1);
  });

  it('keeps a valid key, rotation lists included', () => {
    const a = Buffer.alloc(32, 1).toString('base64');
    const b = Buffer.alloc(32, 2).toString('base64');
    const { status, azdArgs } = runHook({ SECRETS_KEY: `new:${a}, old:${b}` });
    expect(status).toBe(0);
    expect(azdArgs).toEqual([]);
  });

  it('refuses a malformed key', () => {
    const { status, azdArgs, stderr } = runHook({ SECRETS_KEY: 'c2hvcnQ=' });
    expect(status).toBe(1);
    expect(azdArgs).toEqual([]);
    expect(stderr).toContain('SECRETS_KEY');
  });

  it('never replaces the key of an environment provisioned before', () => {
    const { status, azdArgs, stderr } = runHook({ AZURE_KEY_VAULT_NAME: 'kv-example' });
    expect(status).toBe(1);
    expect(azdArgs).toEqual([]);
    expect(stderr).toContain('kv-example');
  });

  it('leaves the key alone when the operator manages it in Key Vault', () => {
    expect(runHook({ SECRETS_KEY_IN_KEY_VAULT: 'true', AZURE_KEY_VAULT_NAME: 'kv-example' })).toMatchObject({
      status: 0,
      azdArgs: [],
    });
  });
});

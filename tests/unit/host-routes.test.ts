import { describe, expect, it } from 'vitest';
import { RouteTable, compileRoute } from '../../shared/host/routes.js';
import { localHostEnv, resolveSettingReferences } from '../../scripts/local-host/settings.js';
import { decodeQueueMessage } from '../../scripts/local-host/queue-listener.js';

describe('route templates', () => {
  it.each([
    ['tenants/{name}', 'tenants/acme', { name: 'acme' }],
    ['tenants/{name}', 'TENANTS/acme', { name: 'acme' }],
    ['tenants/{name}', 'tenants', undefined],
    ['tenants/{name}', 'tenants/acme/extra', undefined],
    ['tenants/{name?}', 'tenants', {}],
    ['tenants/{name?}', 'tenants/x', { name: 'x' }],
    ['environments/{envId}/users/{userId}', 'environments/e1/users/u%2F1', { envId: 'e1', userId: 'u/1' }],
    ['items/{id:int}', 'items/42', { id: '42' }],
    ['items/{id:int}', 'items/abc', undefined],
    [
      'items/{id:guid}',
      'items/0F8FAD5B-D9CB-469F-A165-70867728950E',
      { id: '0F8FAD5B-D9CB-469F-A165-70867728950E' },
    ],
    ['{*path}', 'a/b/c', { path: 'a/b/c' }],
    ['{*path}', '', { path: '' }],
    ['health', 'health/', {}],
  ])('%s matches %s as %j', (template, path, expected) => {
    expect(compileRoute(template, ['GET'], null).match(path)).toEqual(expected);
  });

  it('refuses templates it cannot honour faithfully', () => {
    expect(() => compileRoute('a/{*rest}/b', ['GET'], null)).toThrow(/catch-all/);
    expect(() => compileRoute('a/{id:regex(x)}', ['GET'], null)).toThrow();
    expect(() => compileRoute('a/{id:weird}', ['GET'], null)).toThrow(/constraint/);
  });

  it('tries the most specific template first, whatever the registration order', () => {
    const table = new RouteTable<string>();
    table.add('{*path}', ['GET', 'POST'], 'catch-all');
    table.add('things/{id}', ['GET'], 'param');
    table.add('things/special', ['GET'], 'literal');
    table.add('things/{id:int}', ['GET'], 'int');
    expect(table.find('GET', 'things/special')?.value).toBe('literal');
    expect(table.find('GET', 'things/7')?.value).toBe('int');
    expect(table.find('GET', 'things/x')?.value).toBe('param');
    expect(table.find('GET', 'other')?.value).toBe('catch-all');
    // A method the specific route lacks falls through to the next route that takes it.
    expect(table.find('POST', 'things/x')?.value).toBe('catch-all');
    expect(table.find('DELETE', 'things/x')).toBeUndefined();
  });
});

describe('app setting references', () => {
  it('substitutes %NAME% from the settings, then the local defaults', () => {
    expect(resolveSettingReferences('%A%-%B%', { A: 'x', B: 'y' })).toBe('x-y');
    expect(resolveSettingReferences('%SYNC_SCHEDULE%', {})).toBe('0 */15 * * * *');
  });
  it('names a setting that is not set', () => {
    expect(() => resolveSettingReferences('%NOPE%', {})).toThrow(/"NOPE"/);
    expect(() => resolveSettingReferences('%NOPE%', { NOPE: '' })).toThrow(/"NOPE"/);
  });
  it('reads a setting set to nothing as unset, as the app does', () => {
    expect(resolveSettingReferences('%SYNC_SCHEDULE%', { SYNC_SCHEDULE: '' })).toBe('0 */15 * * * *');
  });
  it('gives a Functions host started locally the settings it reads itself, defaults filled in', () => {
    const env = localHostEnv({ SYNC_SCHEDULE: '', PORT: '8080', DIRECTORY_HOSTS: '' });
    expect(env).toMatchObject({
      AzureWebJobsStorage: 'UseDevelopmentStorage=true',
      SYNC_SCHEDULE: '0 */15 * * * *',
      PORT: '8080',
    });
    // The app's own settings stay as given: an empty list of directory hosts means none.
    expect(env.DIRECTORY_HOSTS).toBe('');
    expect(env).not.toHaveProperty('SMTP_URL');
  });
});

describe('queue message decoding', () => {
  it('decodes base64 and parses JSON like the queue extension', () => {
    expect(decodeQueueMessage(Buffer.from('{"a":1}').toString('base64'))).toEqual({ a: 1 });
    expect(decodeQueueMessage(Buffer.from('plain text').toString('base64'))).toBe('plain text');
  });
});

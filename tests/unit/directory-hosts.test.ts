import { describe, expect, it } from 'vitest';
import {
  checkDirectoryOrigin,
  isOnOrigin,
  normalizeHostEntry,
  parseDirectoryHosts,
  type DirectoryHostKind,
} from '../../shared/directory/hosts.js';

const EXTRA = parseDirectoryHosts('localhost:7443, directory.example.test, 10.1.2.3, [::1]:8443').hosts;

describe('checkDirectoryOrigin', () => {
  it.each<[string, DirectoryHostKind, string]>([
    ['https://login.microsoftonline.com', 'authorityHost', 'https://login.microsoftonline.com'],
    ['https://login.microsoftonline.com/', 'authorityHost', 'https://login.microsoftonline.com'],
    ['https://LOGIN.MicrosoftOnline.com', 'authorityHost', 'https://login.microsoftonline.com'],
    ['https://login.microsoftonline.com:443', 'authorityHost', 'https://login.microsoftonline.com'],
    ['https://login.microsoftonline.us', 'authorityHost', 'https://login.microsoftonline.us'],
    ['https://login.chinacloudapi.cn', 'authorityHost', 'https://login.chinacloudapi.cn'],
    ['https://login.partner.microsoftonline.cn', 'authorityHost', 'https://login.partner.microsoftonline.cn'],
    ['https://graph.microsoft.com', 'graphBaseUrl', 'https://graph.microsoft.com'],
    ['https://graph.microsoft.us', 'graphBaseUrl', 'https://graph.microsoft.us'],
    ['https://dod-graph.microsoft.us', 'graphBaseUrl', 'https://dod-graph.microsoft.us'],
    ['https://microsoftgraph.chinacloudapi.cn', 'graphBaseUrl', 'https://microsoftgraph.chinacloudapi.cn'],
    ['https://localhost:7443', 'authorityHost', 'https://localhost:7443'],
    ['https://localhost:7443', 'graphBaseUrl', 'https://localhost:7443'],
    ['https://directory.example.test', 'graphBaseUrl', 'https://directory.example.test'],
    ['https://10.1.2.3', 'authorityHost', 'https://10.1.2.3'],
    ['https://[::1]:8443', 'authorityHost', 'https://[::1]:8443'],
  ])('allows %s as %s', (value, kind, origin) => {
    expect(checkDirectoryOrigin(value, kind, EXTRA)).toEqual({ ok: true, origin });
  });

  it.each<[string, string, DirectoryHostKind]>([
    ['an IP literal not listed', 'https://20.190.128.1', 'authorityHost'],
    ['a private address', 'https://192.168.1.10', 'authorityHost'],
    ['a private address in another spelling', 'https://0xc0.168.1.10', 'graphBaseUrl'],
    ['the metadata address', 'https://169.254.169.254', 'graphBaseUrl'],
    ['loopback without its listed port', 'https://localhost', 'authorityHost'],
    ['a listed host on another port', 'https://localhost:7444', 'authorityHost'],
    ['a listed IP on another port', 'https://10.1.2.3:8443', 'authorityHost'],
    ['a Microsoft host on another port', 'https://login.microsoftonline.com:8443', 'authorityHost'],
    ['a look-alike suffix', 'https://login.microsoftonline.com.evil.test', 'authorityHost'],
    ['a look-alike prefix', 'https://evil-login.microsoftonline.com', 'authorityHost'],
    ['a subdomain', 'https://x.login.microsoftonline.com', 'authorityHost'],
    ['a trailing dot', 'https://login.microsoftonline.com.', 'authorityHost'],
    ['a homoglyph', 'https://login.microsoftonlіne.com', 'authorityHost'],
    ['a Graph host as authority', 'https://graph.microsoft.com', 'authorityHost'],
    ['an authority host as Graph', 'https://login.microsoftonline.com', 'graphBaseUrl'],
    ['a path', 'https://login.microsoftonline.com/common', 'authorityHost'],
    ['a Graph version path', 'https://graph.microsoft.com/v1.0', 'graphBaseUrl'],
    ['a query', 'https://graph.microsoft.com?x=1', 'graphBaseUrl'],
    ['an empty query', 'https://graph.microsoft.com/?', 'graphBaseUrl'],
    ['a fragment', 'https://graph.microsoft.com#x', 'graphBaseUrl'],
    ['userinfo', 'https://user:pass@login.microsoftonline.com', 'authorityHost'],
    ['userinfo hiding the real host', 'https://login.microsoftonline.com@evil.test', 'authorityHost'],
    ['plain http', 'http://login.microsoftonline.com', 'authorityHost'],
    ['another scheme', 'ftp://login.microsoftonline.com', 'authorityHost'],
    ['not a URL', 'login.microsoftonline.com', 'authorityHost'],
    ['empty', '', 'graphBaseUrl'],
  ])('refuses %s (%s)', (_why, value, kind) => {
    const check = checkDirectoryOrigin(value, kind, EXTRA);
    expect(check.ok).toBe(false);
  });

  it('allows nothing but Microsoft without extra hosts', () => {
    expect(checkDirectoryOrigin('https://localhost:7443', 'authorityHost', []).ok).toBe(false);
  });
});

describe('parseDirectoryHosts', () => {
  it.each<[string | undefined, string[], string[]]>([
    [undefined, [], []],
    ['', [], []],
    [' , ', [], []],
    ['localhost:7443', ['localhost:7443'], []],
    ['Directory.Example.TEST, directory.example.test:443', ['directory.example.test'], []],
    ['[::1]:8443,127.0.0.1', ['[::1]:8443', '127.0.0.1'], []],
    [
      'https://x.test, x.test/path, a@b.test, x.test:99999, ok.test',
      ['ok.test'],
      ['https://x.test', 'x.test/path', 'a@b.test', 'x.test:99999'],
    ],
  ])('reads %j', (setting, hosts, invalid) => {
    expect(parseDirectoryHosts(setting)).toEqual({ hosts, invalid });
  });

  it('normalises single entries or refuses them', () => {
    expect(normalizeHostEntry('LOCALHOST:7443')).toBe('localhost:7443');
    expect(normalizeHostEntry('host:')).toBe('host');
    expect(normalizeHostEntry('a b')).toBeUndefined();
  });
});

describe('isOnOrigin', () => {
  it.each<[string, string, boolean]>([
    ['https://graph.microsoft.com/v1.0/groups?$skiptoken=1', 'https://graph.microsoft.com', true],
    ['https://GRAPH.microsoft.com:443/v1.0', 'https://graph.microsoft.com', true],
    ['https://graph.microsoft.com.evil.test/v1.0', 'https://graph.microsoft.com', false],
    ['https://evil.test/v1.0', 'https://graph.microsoft.com', false],
    ['http://graph.microsoft.com/v1.0', 'https://graph.microsoft.com', false],
    ['https://u:p@graph.microsoft.com/v1.0', 'https://graph.microsoft.com', false],
    ['https://localhost:7444/v1.0', 'https://localhost:7443', false],
    ['/v1.0/groups', 'https://graph.microsoft.com', false],
    ['not a url', 'https://graph.microsoft.com', false],
  ])('%s on %s: %s', (url, origin, expected) => {
    expect(isOnOrigin(url, origin)).toBe(expected);
  });
});

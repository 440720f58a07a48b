import { describe, expect, it } from 'vitest';
import {
  aadstsCodes,
  directoryError,
  fromEntraRefusal,
  type DirectoryFailure,
} from '../../shared/directory/errors.js';
import { fromDiscoveryJson, type OidcTenant } from '../../shared/auth/oidc/discovery.js';

describe('fromEntraRefusal: by AADSTS code and status, never by message text', () => {
  const body = (codes: unknown, description = 'AADSTS7000222: expired') => ({
    error: 'invalid_client',
    error_description: description,
    error_codes: codes,
  });
  it.each<[number, unknown, DirectoryFailure['code']]>([
    [401, body([7000215]), 'directory-credentials-invalid'],
    [401, body([7000222]), 'directory-credentials-expired'],
    [400, body([700016]), 'directory-app-not-found'],
    [400, body([90002]), 'directory-tenant-not-found'],
    // The description says "expired", the codes do not: the codes decide.
    [401, body([7000218]), 'directory-credentials-invalid'],
    [401, body('7000222'), 'directory-credentials-invalid'],
    [400, { error: 'invalid_request' }, 'directory-credentials-invalid'],
    [400, 'not an object', 'directory-credentials-invalid'],
    [500, body([]), 'directory-unreachable'],
    [404, undefined, 'directory-malformed-answer'],
  ])('%i %j → %s', (status, answer, code) => {
    expect(fromEntraRefusal(status, answer).code).toBe(code);
  });

  it('reads only integer codes', () => {
    expect(aadstsCodes({ error_codes: [90002, '700016', 1.5, null] })).toEqual([90002]);
  });
});

describe('directory error messages', () => {
  const subject = { name: 'contoso', directoryId: 'd1', clientId: 'c1' };
  it.each<[DirectoryFailure, RegExp]>([
    [
      { code: 'directory-credentials-expired' },
      /client secret of tenant "contoso" has expired: create a new secret/,
    ],
    [
      { code: 'directory-credentials-invalid' },
      /tenant "contoso".*create a new client secret in app registration c1/,
    ],
    [{ code: 'directory-app-not-found' }, /app registration c1.*directory d1/],
    [{ code: 'directory-tenant-not-found' }, /Directory d1 of tenant "contoso" does not exist/],
    [{ code: 'directory-permission-missing' }, /GroupMember\.Read\.All/],
    [{ code: 'group-not-found', groupId: 'g1' }, /Group g1 was not found/],
    [{ code: 'directory-timeout', seconds: 30 }, /did not answer within 30 seconds/],
    [{ code: 'directory-throttled' }, /throttling/],
    [{ code: 'directory-unreachable' }, /could not be reached/],
    [
      { code: 'directory-malformed-answer', problem: 'a next page link that repeats' },
      /a next page link that repeats/,
    ],
  ])('%j says what to fix', (failure, pattern) => {
    const error = directoryError(failure, subject);
    expect(error.code).toBe(failure.code);
    expect(error.message).toMatch(pattern);
  });

  it('names the directory when the tenant name is unknown', () => {
    expect(directoryError({ code: 'directory-throttled' }, { directoryId: 'd1' }).message).toMatch(
      /directory d1/,
    );
  });
});

describe('fromDiscoveryJson: the metadata stays on the tenant’s host', () => {
  const tenant: OidcTenant = {
    directoryId: '11111111-2222-3333-4444-555555555555',
    authorityHost: 'https://login.microsoftonline.com',
  };
  const base = `https://login.microsoftonline.com/${tenant.directoryId}`;
  const good = {
    issuer: `${base}/v2.0`,
    authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
    token_endpoint: `${base}/oauth2/v2.0/token`,
    jwks_uri: `https://login.microsoftonline.com/${tenant.directoryId}/discovery/v2.0/keys`,
  };

  it('reads a good document, the {tenantid} placeholder filled in', () => {
    expect(fromDiscoveryJson(good, tenant)).toMatchObject({ ok: true, document: { issuer: good.issuer } });
    const multi = { ...good, issuer: 'https://login.microsoftonline.com/{tenantid}/v2.0' };
    expect(fromDiscoveryJson(multi, tenant)).toMatchObject({ ok: true, document: { issuer: good.issuer } });
  });

  it('accepts an issuer on another of Microsoft’s sign-in hosts for a Microsoft authority', () => {
    const china: OidcTenant = { ...tenant, authorityHost: 'https://login.chinacloudapi.cn' };
    const cn = `https://login.chinacloudapi.cn/${tenant.directoryId}`;
    const document = {
      issuer: `https://login.partner.microsoftonline.cn/${tenant.directoryId}/v2.0`,
      authorization_endpoint: `${cn}/oauth2/v2.0/authorize`,
      token_endpoint: `${cn}/oauth2/v2.0/token`,
      jwks_uri: `${cn}/discovery/v2.0/keys`,
    };
    expect(fromDiscoveryJson(document, china).ok).toBe(true);
  });

  it.each<[string, Record<string, unknown>]>([
    ['a token endpoint elsewhere', { token_endpoint: 'https://evil.test/token' }],
    ['a key set elsewhere', { jwks_uri: 'https://evil.test/keys' }],
    ['an authorization endpoint elsewhere', { authorization_endpoint: 'https://evil.test/authorize' }],
    ['a look-alike endpoint host', { token_endpoint: 'https://login.microsoftonline.com.evil.test/t' }],
    ['an endpoint on another port', { token_endpoint: 'https://login.microsoftonline.com:8443/t' }],
    ['an endpoint with userinfo', { token_endpoint: 'https://x@login.microsoftonline.com/t' }],
    ['plain http', { token_endpoint: `http://login.microsoftonline.com/${tenant.directoryId}/t` }],
    ['an issuer elsewhere', { issuer: `https://evil.test/${tenant.directoryId}/v2.0` }],
    ['an issuer of another directory', { issuer: 'https://login.microsoftonline.com/other/v2.0' }],
    ['an issuer that is no URL', { issuer: 'login.microsoftonline.com' }],
    ['no key set', { jwks_uri: undefined }],
  ])('refuses %s', (_why, change) => {
    expect(fromDiscoveryJson({ ...good, ...change }, tenant).ok).toBe(false);
  });

  it('refuses an issuer on another Microsoft host for a non-Microsoft authority', () => {
    const dev: OidcTenant = { ...tenant, authorityHost: 'https://localhost:7443' };
    const devBase = `https://localhost:7443/${tenant.directoryId}`;
    const document = {
      issuer: `${base}/v2.0`,
      authorization_endpoint: `${devBase}/oauth2/v2.0/authorize`,
      token_endpoint: `${devBase}/oauth2/v2.0/token`,
      jwks_uri: `${devBase}/discovery/v2.0/keys`,
    };
    expect(fromDiscoveryJson(document, dev).ok).toBe(false);
    expect(fromDiscoveryJson({ ...document, issuer: `${devBase}/v2.0` }, dev).ok).toBe(true);
  });
});

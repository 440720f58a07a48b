import { describe, expect, it } from 'vitest';
import { toConsoleSettings } from '../../shared/console/settings.js';
import { consoleAnswer, contentSecurityPolicy, type ConsoleFile } from '../../shared/console/static-files.js';
import { loadConfig } from '../../shared/config.js';

const file = (text: string, contentType: string): ConsoleFile => ({ body: Buffer.from(text), contentType });
const files = new Map<string, ConsoleFile>([
  ['index.html', file('<html>', 'text/html; charset=utf-8')],
  ['assets/index-abc123.js', file('js', 'text/javascript; charset=utf-8')],
  ['robots.txt', file('no', 'text/plain; charset=utf-8')],
]);
const CSP = contentSecurityPolicy('https://login.example.com/tenant/v2.0');

describe('console static files', () => {
  it('allows only its own scripts and styles and the issuer for sign-in calls', () => {
    expect(CSP).toContain("script-src 'self'");
    expect(CSP).toContain("connect-src 'self' https://login.example.com");
    expect(CSP).toContain("frame-ancestors 'none'");
    expect(CSP).not.toMatch(/unsafe|\*/);
  });
  it.each([
    ['', 200, 'no-cache', '<html>'],
    ['index.html', 200, 'no-cache', '<html>'],
    ['environments/demo/runs', 200, 'no-cache', '<html>'],
    ['session', 200, 'no-cache', '<html>'],
    ['assets/index-abc123.js', 200, 'public, max-age=31536000, immutable', 'js'],
    ['robots.txt', 200, 'no-cache', 'no'],
    ['assets/index-old.js', 404, 'no-cache', 'Not found'],
    ['.vite/manifest.json', 404, 'no-cache', 'Not found'],
  ])('/console/%s answers %i (%s)', (requestPath, status, cacheControl, body) => {
    const answer = consoleAnswer(files, requestPath, CSP);
    expect(answer.status).toBe(status);
    expect(answer.headers['cache-control']).toBe(cacheControl);
    expect(answer.headers['x-content-type-options']).toBe('nosniff');
    expect(answer.body?.toString()).toBe(body);
    if (body === '<html>') expect(answer.headers['content-security-policy']).toBe(CSP);
  });
  it('says the console is not built rather than serving nothing', () => {
    const answer = consoleAnswer(new Map(), '', CSP);
    expect(answer.status).toBe(503);
    expect(answer.body?.toString()).toContain('npm run build');
  });
});

describe('console settings', () => {
  const base = { SECRETS_KEY: 'dGVzdC1vbmx5LXNlY3JldHMta2V5LTMyLWJ5dGVzISE=' };
  it('defaults to the dev directory locally, redirecting to /console/ of the public origin', () => {
    const config = loadConfig({
      ...base,
      AZURE_FUNCTIONS_ENVIRONMENT: 'Development',
      PUBLIC_BASE_URL: 'http://localhost:8080',
    });
    expect(toConsoleSettings(config)).toEqual({
      issuer: 'https://localhost:7443/management',
      clientId: 'bizzstream-console',
      scope: 'api://bizzstream-external-users/manage',
      redirectUri: 'http://localhost:8080/console/',
    });
  });
  it('takes the client and scope from the settings in Azure', () => {
    const config = loadConfig({
      ...base,
      AZURE_FUNCTIONS_ENVIRONMENT: 'Production',
      AzureWebJobsStorage: 'UseDevelopmentStorage=true',
      PUBLIC_BASE_URL: 'https://users.example.com',
      MANAGEMENT_ISSUER: 'https://login.microsoftonline.com/t/v2.0',
      MANAGEMENT_AUDIENCE: 'api://x',
      MANAGEMENT_JWKS_URI: 'https://login.microsoftonline.com/t/discovery/v2.0/keys',
      SMTP_URL: 'smtp://mail.example.com',
      MAIL_FROM: 'a@example.com',
      SYNC_SCHEDULE: '0 */15 * * * *',
      CONSOLE_CLIENT_ID: 'c',
      CONSOLE_SCOPE: 'api://x/manage',
    });
    expect(toConsoleSettings(config)).toEqual({
      issuer: 'https://login.microsoftonline.com/t/v2.0',
      clientId: 'c',
      scope: 'api://x/manage',
      redirectUri: 'https://users.example.com/console/',
    });
  });
});

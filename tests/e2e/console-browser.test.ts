import { readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../scripts/azurite.js';
import { startLocalHost, type LocalHost } from '../../scripts/local-host/local-host.js';
import {
  createTestDirectory,
  devDirectoryAdmin,
  devDirectorySettings,
  type TestDirectory,
  type UserInfo,
} from '../support/dev-directory.js';
import { testServices, useManagementKeySource, useTestEnvironment } from '../support/storage.js';
import { uid } from '../support/ids.js';

/**
 * The console in a real browser (Debian's Chromium driven by playwright-core) through the whole
 * stack: the local host serving the page and the API, Azurite, the dev directory as the staff
 * identity provider and as the external users' Entra ID. One browser for the file; each signed-in
 * person gets a fresh context, so no token leaks between roles.
 * `UPDATE_SCREENSHOTS=1` also writes the README's screenshots to docs/screenshots/.
 */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const LAUNCH_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
/** What the page shows after an API call: seconds on a busy machine, not vitest's default second. */
const POLL = { timeout: 10_000 };
const SCREENSHOTS = process.env.UPDATE_SCREENSHOTS === '1' ? path.resolve('docs/screenshots') : undefined;
const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

const run = uid();
const envId = `console-${run}`;
const tenantName = `console-${run}`;
const partnerSub = `partner-${run}`;

let host: LocalHost;
let browser: Browser;
let directory: TestDirectory;
let group: { id: string };
let people: UserInfo[];
const contexts: BrowserContext[] = [];
const consoleErrors: string[] = [];
/** The failed requests a test provokes on purpose (a refused save): `<status> <url>`. */
const deliberateFailures = new Set<string>();

/**
 * Every error the console's pages log fails the test, "Failed to load resource" too: Chromium logs
 * one for each HTTP error answer, and a person opening the console must see none in normal use.
 * Only the failures a test provokes on purpose, named with `expectFailedRequest`, are not errors.
 * Pages of the dev directory (another origin) are not the console's.
 */
function watch(page: Page): void {
  page.on('pageerror', (error) => consoleErrors.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() !== 'error') return;
    const url = message.location().url;
    if (!url.startsWith(host.url)) return;
    consoleErrors.push(`${message.text()} (${url})`);
  });
}

function expectFailedRequest(status: number, url: string): void {
  deliberateFailures.add(`${status} ${url}`);
}

function unexplainedErrors(): string[] {
  return consoleErrors.filter((text) => {
    const failed = /^Failed to load resource: the server responded with a status of (\d{3}) .*\((.+)\)$/.exec(
      text,
    );
    return failed === null || !deliberateFailures.has(`${failed[1]} ${failed[2]}`);
  });
}

async function newPage(viewport = { width: 1280, height: 900 }): Promise<Page> {
  const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport });
  contexts.push(context);
  const page = await context.newPage();
  watch(page);
  return page;
}

async function screenshot(page: Page, name: string): Promise<void> {
  if (SCREENSHOTS === undefined) return;
  await mkdir(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

/** axe-core in the page: no serious or critical violation. */
async function expectAccessible(page: Page, where: string): Promise<void> {
  await page.evaluate(AXE_SOURCE);
  const results = await page.evaluate<{
    violations: { id: string; impact: string | null; nodes: { target: unknown }[] }[];
  }>('axe.run(document)');
  const violations = results.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id}: ${v.nodes.map((n) => JSON.stringify(n.target)).join(', ')}`);
  expect(violations, where).toEqual([]);
}

async function heading(page: Page): Promise<string> {
  return (await page.getByRole('heading', { level: 1 }).textContent()) ?? '';
}

/** Staff sign-in: the console, then the dev directory's page where one picks who to be. */
async function signInStaff(
  role: 'Platform operator' | 'Partner' | 'Environment admin',
  sub: string,
  environments?: string,
): Promise<Page> {
  const page = await newPage();
  await page.goto(`${host.url}/console/`);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(/\/management\/authorize/);
  await page.getByRole('radio', { name: role }).check();
  await page.getByLabel('User name (sub)').fill(sub);
  if (environments !== undefined)
    await page.getByRole('textbox', { name: /^Environments/ }).fill(environments);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${host.url}/console/**`);
  // Redeeming the code takes a token request and the first API calls: a busy machine needs seconds.
  await page.getByRole('button', { name: 'Sign out' }).waitFor({ timeout: 20_000 });
  // The authorization code is gone from the address bar once redeemed.
  expect(page.url()).not.toContain('code=');
  return page;
}

async function openTab(page: Page, name: string): Promise<void> {
  await page
    .getByRole('navigation', { name: `Environment ${envId}` })
    .getByRole('link', { name })
    .click();
}

beforeAll(async () => {
  // The redirect URIs name the host's port, so the port is chosen before the services are built.
  const port = await freePort();
  useTestEnvironment({ ...devDirectorySettings(), PUBLIC_BASE_URL: `http://localhost:${port}` });
  useManagementKeySource(undefined);
  host = await startLocalHost({
    port,
    functionsDir: path.resolve('functions'),
    services: testServices(),
    timers: false,
    queueSettings: { visibilityTimeoutMs: 1000, maxPollingIntervalMs: 200 },
    log: () => undefined,
  });
  await devDirectoryAdmin().registerManagementClient({
    clientId: 'bizzstream-console',
    redirectUris: [`${host.url}/console/`],
  });
  directory = await createTestDirectory({
    applications: [{ redirectUris: [`${host.url}/api/auth/callback`] }],
  });
  people = [];
  for (const name of ['Ada Console', 'Ben Console', 'Cleo Console']) {
    people.push(
      await directory.addUser({
        displayName: `${name} ${run}`,
        mail: `${name.split(' ')[0]!.toLowerCase()}.${run}@example.com`,
      }),
    );
  }
  group = await directory.addGroup(
    `Console users ${run}`,
    people.map((p) => p.id),
  );
  browser = await chromium.launch({ executablePath: CHROMIUM, args: LAUNCH_ARGS });
}, 60_000);

afterEach(async () => {
  const errors = unexplainedErrors();
  consoleErrors.length = 0;
  deliberateFailures.clear();
  await Promise.all(contexts.splice(0).map((context) => context.close()));
  expect(errors, 'browser console errors').toEqual([]);
});

afterAll(async () => {
  await browser?.close();
  await host?.stop();
});

describe('the console in Chromium', () => {
  it('serves the page with a strict CSP and cache headers, and its sign-in settings', async () => {
    const page = await fetch(`${host.url}/console/environments`);
    expect(page.status).toBe(200);
    expect(page.headers.get('cache-control')).toBe('no-cache');
    const csp = page.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    const html = await page.text();
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    const asset = /src="(\/console\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    expect(asset).toBeDefined();
    const script = await fetch(`${host.url}${asset ?? ''}`);
    expect(script.headers.get('cache-control')).toContain('immutable');
    expect((await fetch(`${host.url}/console/assets/missing-0000.js`)).status).toBe(404);
    const config = (await (await fetch(`${host.url}/console/config.json`)).json()) as Record<string, string>;
    expect(config).toEqual({
      issuer: devDirectorySettings().MANAGEMENT_ISSUER,
      clientId: 'bizzstream-console',
      scope: 'api://bizzstream-external-users/manage',
      redirectUri: `${host.url}/console/`,
    });
  });

  it('a partner signs in and creates a tenant; the secret is write-only and the health shown', async () => {
    const page = await signInStaff('Partner', partnerSub);
    expect(await heading(page)).toBe('Tenants');
    await expectAccessible(page, 'tenants (empty)');
    await page.getByRole('link', { name: 'New tenant' }).click();
    expect(await heading(page)).toBe('New tenant');
    await expect.poll(() => page.evaluate('document.activeElement?.tagName'), POLL).toBe('H1');
    await page.getByLabel('Name', { exact: true }).fill(tenantName);
    await page.getByLabel('Directory (tenant) ID').fill(directory.id);
    await page.getByLabel('Client ID').fill(directory.app.clientId);
    await page.getByLabel('Client secret').fill(directory.app.clientSecret);
    await page.getByLabel('Environments allowed').fill(envId);
    await page.getByLabel('Authority host').fill(directory.authorityHost);
    await page.getByLabel('Graph base URL').fill(directory.graphBaseUrl);
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('heading', { name: `Tenant ${tenantName}` }).waitFor();
    await page.getByText('Stored (never shown)').waitFor();
    expect(await page.getByLabel('Client secret').inputValue()).toBe('');
    await page
      .getByText(/^Unknown|^OK|^Failing/)
      .first()
      .waitFor();
    // The check endpoint answers a result, or its problem shows: either way nothing is silent.
    await page.getByRole('button', { name: 'Check connection' }).click();
    await page.locator('.ok, .problem').first().waitFor();
    await expectAccessible(page, 'tenant');
    await screenshot(page, 'console-tenant');
    await page.getByRole('link', { name: 'All tenants' }).click();
    await page.getByRole('link', { name: tenantName }).waitFor();
    await screenshot(page, 'console-tenants');
  }, 60_000);

  it('the operator creates the environment and alone switches the integration on', async () => {
    const page = await signInStaff('Platform operator', `operator-${run}`);
    await page.getByLabel('New environment ID').fill(envId);
    await page.getByLabel('Name', { exact: true }).fill(`Console ${run}`);
    await page.getByRole('button', { name: 'Create' }).click();
    await page.getByRole('heading', { name: `Console ${run}` }).waitFor();
    const integration = page.getByRole('checkbox', { name: 'External users integration' });
    expect(await integration.isChecked()).toBe(false);
    expect(await integration.isEnabled()).toBe(true);
    await integration.check();
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByText('Saved.').waitFor();
    await expectAccessible(page, 'environment');
    await screenshot(page, 'console-environment');
  }, 60_000);

  it('an environment admin saves settings (a bad field named at the field), syncs and reads the changes', async () => {
    const page = await signInStaff('Environment admin', `admin-${run}`, envId);
    await page.getByRole('link', { name: envId, exact: true }).click();
    // Settings never saved: an empty form, and no failed request for them (checked after the test).
    await page.getByText(/not configured yet/).waitFor();
    await page.getByLabel('Tenant', { exact: true }).waitFor();
    await openTab(page, 'Environment');
    expect(await page.getByRole('checkbox', { name: 'External users integration' }).isDisabled()).toBe(true);
    await openTab(page, 'External users');
    await page.getByLabel('Tenant', { exact: true }).fill(tenantName);
    await page.getByLabel('Groups to Sync').fill(`${group.id}, not-a-group`);
    await page.getByLabel('Default menu').fill('Home, Projects');
    await page.getByLabel('Deactivation limit').fill('0');
    await page.getByLabel('Notification emails').fill(`ops-${run}@example.com`);
    // The bad group id is refused with a 400 on purpose.
    expectFailedRequest(400, `${host.url}/api/environments/${envId}/external-users`);
    await page.getByRole('button', { name: 'Save' }).click();
    const groupsError = page.locator('#eu-groupsToSync-error');
    await groupsError.waitFor();
    expect(await page.getByLabel('Groups to Sync').getAttribute('aria-invalid')).toBe('true');
    expect(await page.getByLabel('Groups to Sync').getAttribute('aria-describedby')).toContain(
      'eu-groupsToSync-error',
    );
    expect(await page.evaluate('document.activeElement?.id')).toBe('eu-groupsToSync');
    expect(await page.locator('.field-error').count()).toBe(1);
    await screenshot(page, 'console-validation');

    await page.getByLabel('Groups to Sync').fill(group.id);
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByText('Settings saved.').waitFor();
    // Saved, the page no longer says the integration is unconfigured.
    await page.getByText(/not configured yet/).waitFor({ state: 'detached' });
    // A preview lists what a run would do now and applies nothing: the real run after it still adds all.
    await page.getByRole('button', { name: 'Preview' }).click();
    await page
      .locator('.run-status')
      .getByText(/^Preview .*: Succeeded: 3 added/)
      .waitFor({ timeout: 30_000 });
    await page.getByRole('button', { name: 'Sync' }).click();
    const status = page.locator('.run-status');
    await status.getByText(/Sync .*: (Queued|Running)…/).waitFor({ timeout: 10_000 });
    await status.getByText('Succeeded: 3 added').waitFor({ timeout: 30_000 });
    // The ended run is the latest, and the group it read is named beside its id.
    await page.getByRole('heading', { name: 'Latest run' }).waitFor();
    await page
      .locator('p', { hasText: /: Succeeded: 3 added$/ })
      .getByRole('link')
      .waitFor();
    expect(await page.getByText('Name not read yet').count()).toBe(0);
    await expectAccessible(page, 'external users');
    await screenshot(page, 'console-external-users');
    await status.getByRole('link', { name: 'See the changes' }).click();
    await page.getByRole('heading', { name: /^Sync run / }).waitFor();
    for (const person of people) {
      const row = page.getByRole('row').filter({ hasText: person.displayName });
      await row.getByText('New member of a synced group').waitFor();
    }
    await screenshot(page, 'console-run');
  }, 90_000);

  it('a halted run shows what it held back, and "Confirm deactivations" applies it', async () => {
    const leaver = people[2]!;
    await directory.admin.removeMembers(directory.id, group.id, [leaver.id]);
    const page = await signInStaff('Environment admin', `admin-${run}`, envId);
    await page.getByRole('link', { name: envId, exact: true }).click();
    await page.getByRole('button', { name: 'Sync' }).click();
    await page
      .locator('.run-status')
      .getByText(/Halted/)
      .waitFor({ timeout: 30_000 });
    await page.locator('.run-status').getByRole('link', { name: 'See the changes' }).click();
    await page.getByRole('heading', { name: 'Changes held back' }).waitFor();
    await page
      .getByRole('row')
      .filter({ hasText: leaver.displayName })
      .getByText('Removed from the synced groups')
      .waitFor();
    await screenshot(page, 'console-halted-run');
    await page.getByRole('button', { name: 'Confirm deactivations' }).click();
    await page.getByText('Succeeded: 1 deactivated').waitFor({ timeout: 30_000 });
    await page.getByRole('heading', { name: 'Changes', exact: true }).waitFor();

    await openTab(page, 'Sync runs');
    // The header, the preview, the first run, the halted run and the confirmed one.
    await expect.poll(() => page.getByRole('row').count(), POLL).toBe(5);
    await page.getByRole('row').filter({ hasText: '(preview)' }).waitFor();
    await expectAccessible(page, 'runs');
  }, 90_000);

  it('users: paged list with status and filter; an external profile is read-only but its menus change', async () => {
    const page = await signInStaff('Environment admin', `admin-${run}`, envId);
    await page.goto(`${host.url}/console/environments/${envId}/users`);
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
    const table = page.getByRole('region', { name: 'Users' });
    await table.getByText('Deactivated (removed-from-group)').waitFor();
    expect(await table.getByRole('row').count()).toBe(4);
    await page.getByLabel('Status').selectOption('active');
    await expect.poll(() => table.getByRole('row').count(), POLL).toBe(3);
    await page.getByLabel('Filter by name or email').fill('ada');
    await expect.poll(() => table.getByRole('row').count(), POLL).toBe(2);
    await screenshot(page, 'console-users');
    await table.getByRole('link', { name: people[0]!.displayName }).click();
    await page.getByRole('heading', { name: people[0]!.displayName }).waitFor();
    expect(await page.getByLabel('Name', { exact: true }).getAttribute('readonly')).not.toBeNull();
    expect(await page.getByLabel('Email').getAttribute('readonly')).not.toBeNull();
    expect(await page.getByRole('checkbox', { name: 'Active' }).isDisabled()).toBe(true);
    expect(await page.getByLabel('Menus').inputValue()).toBe('Home, Projects');
    await page.getByLabel('Menus').fill('Home, Reports');
    await page.getByRole('button', { name: 'Save menus' }).click();
    await page.getByText('Menus saved.').waitFor();
    await expectAccessible(page, 'user profile');
    await screenshot(page, 'console-user');
  }, 60_000);

  it('is usable 390 px wide: nothing wider than the screen', async () => {
    const page = await newPage({ width: 390, height: 844 });
    await page.goto(`${host.url}/console/`);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('radio', { name: 'Environment admin' }).check();
    await page.getByRole('textbox', { name: /^Environments/ }).fill(envId);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
    for (const screen of ['external-users', 'runs', 'users']) {
      await page.goto(`${host.url}/console/environments/${envId}/${screen}`);
      await page.getByRole('button', { name: 'Sign out' }).waitFor();
      await page.locator('.loading').first().waitFor({ state: 'detached' });
      expect(await page.evaluate('document.documentElement.scrollWidth'), screen).toBeLessThanOrEqual(390);
    }
    await screenshot(page, 'console-users-390');
  }, 60_000);

  it('an external user signs in through the directory page; /console/session shows the 8-hour session; sign out ends it', async () => {
    const page = await newPage();
    const person = people[0]!;
    await page.goto(`${host.url}/api/auth/login?environment=${envId}&returnTo=/console/session`);
    await page.getByLabel('Email or username').fill(person.userPrincipalName);
    await page.getByLabel('Password').fill(person.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${host.url}/console/session`);
    await page.getByText(person.displayName).waitFor();
    await page.getByText(person.mail ?? '').waitFor();
    await page.getByText(envId, { exact: true }).waitFor();
    const ends = page.locator('time');
    expect(await ends.textContent()).toMatch(/\(in 8 hours\)$/);
    const expiresAt = Date.parse((await ends.getAttribute('datetime')) ?? '');
    expect(Math.abs(expiresAt - (Date.now() + 8 * 3600_000))).toBeLessThan(5 * 60_000);
    await expectAccessible(page, 'session');
    await screenshot(page, 'console-session');
    const sessionCookies = await page.context().cookies(host.url);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Signed out' }).waitFor();
    expect((await page.request.get(`${host.url}/api/auth/session`)).status()).toBe(401);
    // The cookie of a session that has ended on the server: the page says "signed out", the
    // browser forgets the cookie, and nothing shows as an error in the browser's console.
    await page.context().addCookies(sessionCookies);
    await page.reload();
    await page.getByRole('heading', { name: 'Signed out' }).waitFor();
    expect(await page.getByRole('status').textContent()).toContain('not signed in');
    await expect
      .poll(async () => (await page.context().cookies(host.url)).map((cookie) => cookie.name), POLL)
      .toEqual([]);
  }, 60_000);

  it('/console/session without a session says so, with no error in the browser console', async () => {
    const page = await newPage();
    await page.goto(`${host.url}/console/session`);
    await page.getByRole('heading', { name: 'Signed out' }).waitFor();
    expect(await page.getByRole('status').textContent()).toContain('not signed in');
    expect(await page.getByRole('button', { name: 'Sign out' }).count()).toBe(0);
    await expectAccessible(page, 'session (signed out)');
  }, 60_000);

  it('staff "Sign out" forgets the tokens; nothing is kept in localStorage or cookies', async () => {
    const page = await signInStaff('Platform operator', `operator-${run}`);
    expect(await page.evaluate('sessionStorage.length')).toBeGreaterThan(0);
    expect(await page.evaluate('localStorage.length')).toBe(0);
    expect(await page.evaluate('document.cookie')).toBe('');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    expect(await page.evaluate('sessionStorage.length')).toBe(0);
    await page.reload();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await expectAccessible(page, 'sign-in');
  }, 60_000);
});

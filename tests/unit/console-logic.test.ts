import { describe, expect, it } from 'vitest';
import { can, jwtClaims, toPrincipal } from '../../console/src/logic/principal.js';
import { fieldError, toProblem, unplacedErrors } from '../../console/src/logic/problem.js';
import { href, parseRoute, safeReturnPath, type Route } from '../../console/src/logic/routes.js';
import {
  changeReason,
  countsSummary,
  isFinished,
  runSummary,
  type SyncRun,
} from '../../console/src/logic/runs.js';
import { sessionEnds } from '../../console/src/logic/session.js';
import {
  splitList,
  toPreviewBody,
  toSettingsBody,
  toSettingsForm,
  EMPTY_SETTINGS_FORM,
} from '../../console/src/logic/settings-form.js';
import { healthText, toTenantBody } from '../../console/src/logic/tenants.js';
import { filterUsers } from '../../console/src/logic/users.js';

describe('console routes', () => {
  const table: [string, Route][] = [
    ['/console/', { name: 'home' }],
    ['/console/session', { name: 'session' }],
    ['/console/tenants', { name: 'tenants' }],
    ['/console/tenants/new', { name: 'tenant', tenant: undefined }],
    ['/console/tenants/acme', { name: 'tenant', tenant: 'acme' }],
    ['/console/environments', { name: 'environments' }],
    ['/console/environments/Env_1', { name: 'environment', envId: 'Env_1' }],
    ['/console/environments/e/external-users', { name: 'externalUsers', envId: 'e' }],
    ['/console/environments/e/runs', { name: 'runs', envId: 'e' }],
    ['/console/environments/e/runs/r1', { name: 'run', envId: 'e', runId: 'r1' }],
    ['/console/environments/e/users', { name: 'users', envId: 'e' }],
    ['/console/environments/e/users/u%2F1', { name: 'user', envId: 'e', userId: 'u/1' }],
  ];
  it.each(table)('%s parses and round-trips', (path, route) => {
    expect(parseRoute(path)).toEqual(route);
    expect(href(route)).toBe(path);
  });
  it.each([
    '/console/nope',
    '/console/environments/e/other',
    '/console/environments/e/runs/r/x',
    '/console/%E0%A4%A',
  ])('%s is not a screen', (path) => expect(parseRoute(path).name).toBe('notFound'));
  it.each([
    ['/console/environments', '/console/environments'],
    ['https://evil.example/console/', '/console/'],
    ['//evil.example/console/', '/console/'],
    ['/api/tenants', '/console/'],
    [null, '/console/'],
  ])('returns after sign-in only to console paths: %s', (value, expected) => {
    expect(safeReturnPath(value)).toBe(expected);
  });
});

describe('problems', () => {
  it('reads problem+json with field errors and a run in progress', () => {
    const problem = toProblem(409, {
      type: '/problems/sync-in-progress',
      title: 'Sync in progress',
      status: 409,
      detail: 'A sync is running.',
      runId: 'r1',
    });
    expect(problem).toMatchObject({
      title: 'Sync in progress',
      detail: 'A sync is running.',
      runId: 'r1',
      errors: {},
    });
  });
  it('gives any other error answer a title from its status', () => {
    expect(toProblem(502, 'Bad gateway', 'Bad Gateway')).toMatchObject({
      title: 'Bad Gateway',
      status: 502,
      detail: '',
    });
    expect(toProblem(500, undefined).title).toBe('Request failed (500)');
  });
  it('places field messages, list items with their list, and keeps the rest', () => {
    const problem = toProblem(400, {
      title: 'Invalid',
      errors: { groupsToSync: 'bad id', 'notificationEmails.1': 'not an address', body: 'odd' },
    });
    expect(fieldError(problem, 'groupsToSync')).toBe('bad id');
    expect(fieldError(problem, 'notificationEmails')).toBe('not an address');
    expect(fieldError(problem, 'tenant')).toBeUndefined();
    expect(unplacedErrors(problem, ['groupsToSync', 'notificationEmails'])).toEqual([['body', 'odd']]);
  });
});

describe('principal', () => {
  const token = (claims: object) => `h.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.s`;
  it('reads roles and environments of the access token, the name of the ID token', () => {
    const principal = toPrincipal(
      jwtClaims(token({ sub: 's1', roles: ['environment-admin', 'bogus'], environments: ['a', 'b'] })),
      { name: 'Eve Admin' },
    );
    expect(principal).toEqual({
      sub: 's1',
      name: 'Eve Admin',
      roles: ['environment-admin'],
      environments: ['a', 'b'],
    });
    expect(can.administer(principal, 'a')).toBe(true);
    expect(can.administer(principal, 'c')).toBe(false);
    expect(can.switchIntegration(principal)).toBe(false);
  });
  it('treats an unreadable token as no claims', () => {
    expect(jwtClaims('garbage')).toEqual({});
    expect(jwtClaims('a.!!!.c')).toEqual({});
    expect(toPrincipal({}).roles).toEqual([]);
  });
  it.each([
    [['platform-operator'], true, true],
    [['partner'], true, false],
    [['environment-admin'], false, false],
  ] as const)('roles %j: tenants %s, integration %s', (roles, tenants, integration) => {
    const principal = { sub: 's', name: 'n', roles, environments: [] };
    expect(can.manageTenants(principal)).toBe(tenants);
    expect(can.switchIntegration(principal)).toBe(integration);
  });
});

describe('settings form', () => {
  it('splits lists on commas and new lines, dropping blanks', () => {
    expect(splitList(' Home, ,Projects\nReports ')).toEqual(['Home', 'Projects', 'Reports']);
  });
  it('turns the API settings into the form and back', () => {
    const form = toSettingsForm({
      tenant: 'acme',
      groupsToSync: 'g1,g2',
      defaultMenus: ['Home'],
      periodicSync: true,
      deactivationLimit: 7,
      notificationEmails: ['a@x.example', 'b@x.example'],
    });
    expect(form).toEqual({
      tenant: 'acme',
      groupsToSync: 'g1, g2',
      defaultMenus: 'Home',
      periodicSync: true,
      deactivationLimit: '7',
      notificationEmails: 'a@x.example, b@x.example',
    });
    expect(toSettingsBody(form)).toEqual({
      tenant: 'acme',
      groupsToSync: 'g1, g2',
      defaultMenus: ['Home'],
      periodicSync: true,
      deactivationLimit: 7,
      notificationEmails: ['a@x.example', 'b@x.example'],
    });
  });
  it.each([
    ['12', 12],
    [' 0 ', 0],
    ['-1', '-1'],
    ['1.5', '1.5'],
    ['abc', 'abc'],
  ])('deactivation limit %j goes as %j, so the API names a bad one', (typed, sent) => {
    expect(toSettingsBody({ ...EMPTY_SETTINGS_FORM, deactivationLimit: typed }).deactivationLimit).toBe(sent);
  });
  it('previews the tenant and groups of the form as it stands', () => {
    expect(toPreviewBody({ ...EMPTY_SETTINGS_FORM, tenant: ' t ', groupsToSync: 'g' })).toEqual({
      dryRun: true,
      tenant: 't',
      groupsToSync: 'g',
    });
  });
});

describe('runs', () => {
  const base: SyncRun = {
    runId: 'r',
    environment: 'e',
    trigger: 'manual',
    requestedBy: 's',
    status: 'succeeded',
    queuedAt: '2026-01-01T00:00:00Z',
    counts: { added: 2, granted: 0, updated: 0, deactivated: 1, reactivated: 0, unchanged: 5 },
  };
  it.each([
    ['queued', false],
    ['running', false],
    ['succeeded', true],
    ['failed', true],
    ['halted', true],
  ] as const)('%s finished: %s', (status, finished) => expect(isFinished(status)).toBe(finished));
  it('summarizes counts', () => {
    expect(countsSummary(base.counts)).toBe('2 added, 1 deactivated (5 unchanged)');
    expect(countsSummary({ unchanged: 3 })).toBe('no changes (3 unchanged)');
    expect(countsSummary(undefined)).toBe('no changes');
  });
  it('says what a run came to', () => {
    expect(runSummary(base)).toBe('Succeeded: 2 added, 1 deactivated (5 unchanged)');
    expect(runSummary({ ...base, status: 'running' })).toBe('Running…');
    expect(
      runSummary({ ...base, status: 'failed', error: { code: 'group-not-found', message: 'Group gone.' } }),
    ).toBe('Failed: Group gone.');
    expect(runSummary({ ...base, status: 'halted' })).toContain('deactivate 1 users');
    expect(runSummary({ ...base, dryRun: true, wouldHalt: true })).toContain('a real run would halt');
  });
  it.each([
    [{ action: 'deactivated', reason: 'removed-from-group' }, 'Removed from the synced groups'],
    [{ action: 'deactivated', reason: 'account-disabled' }, 'Account disabled in the directory'],
    [{ action: 'deactivated', reason: 'something-new' }, 'something-new'],
    [{ action: 'updated', fields: ['email'] }, 'Changed in the directory: email'],
    [{ action: 'added' }, 'New member of a synced group'],
  ] as const)('reason of %j', (change, text) => expect(changeReason(change)).toBe(text));
});

describe('tenants, users, session', () => {
  it('sends the secret only when typed, and optional hosts only when given', () => {
    const form = {
      name: 'n',
      directoryId: ' d ',
      clientId: 'c',
      clientSecret: '',
      environments: 'a, b',
      authorityHost: '',
      graphBaseUrl: 'https://graph.microsoft.us',
    };
    expect(toTenantBody(form)).toEqual({
      directoryId: 'd',
      clientId: 'c',
      environments: ['a', 'b'],
      graphBaseUrl: 'https://graph.microsoft.us',
    });
    expect(toTenantBody({ ...form, clientSecret: 's' }).clientSecret).toBe('s');
  });
  it('shows health in words', () => {
    expect(healthText(undefined)).toBe('Unknown (not used yet)');
    expect(healthText({ state: 'failing', error: { code: 'x', message: 'Wrong secret.' } })).toBe(
      'Failing: Wrong secret.',
    );
    expect(healthText({ state: 'ok', checkedAt: '2026-01-01T10:00:00Z' }, 'en-GB')).toMatch(
      /^OK \(checked .+\)$/,
    );
  });
  it('filters users by text and status', () => {
    const users = [
      { displayName: 'Ada', email: 'ada@x', active: true },
      { displayName: 'Ben', email: 'BEN@x', active: false },
    ];
    expect(filterUsers(users, { text: '', status: 'all' })).toHaveLength(2);
    expect(filterUsers(users, { text: 'ben', status: 'all' })).toEqual([users[1]]);
    expect(filterUsers(users, { text: '', status: 'active' })).toEqual([users[0]]);
    expect(filterUsers(users, { text: 'ada', status: 'deactivated' })).toEqual([]);
  });
  it.each([
    [8 * 60, '(in 8 hours)'],
    [45, '(in 45 minutes)'],
    [1, '(in 1 minute)'],
    [-5, '(ended)'],
  ])('a session ending in %i minutes reads "%s"', (minutes, suffix) => {
    const now = new Date('2026-01-01T09:00:00Z');
    const end = new Date(now.getTime() + minutes * 60_000).toISOString();
    expect(sessionEnds(end, now, 'en-GB').endsWith(suffix)).toBe(true);
  });
});

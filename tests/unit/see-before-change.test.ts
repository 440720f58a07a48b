import { describe, expect, it } from 'vitest';
import { normalizeNotificationEmails } from '../../shared/environments/service.js';
import { runFailureMail } from '../../shared/notifications/message.js';
import { runConsoleUrl } from '../../shared/notifications/service.js';
import { healthOfRun } from '../../shared/sync/follow-up.js';
import { dryRunOf, validatePreview } from '../../shared/sync/preview.js';
import { ZERO_COUNTS, type StoredRun } from '../../shared/sync/runs.js';
import { runSummary } from '../../shared/sync/summary.js';
import { healthOfCheck } from '../../shared/tenants/check.js';
import { isSameHealth } from '../../shared/tenants/health.js';

function thrown(action: () => unknown): unknown {
  try {
    action();
  } catch (error) {
    return error;
  }
  return undefined;
}

const G1 = '11111111-2222-3333-4444-555555555555';

const run = (overrides: Partial<StoredRun> = {}): StoredRun => ({
  runId: '0000000000001-abcdefabcdef',
  environment: 'env',
  trigger: 'periodic',
  requestedBy: 'schedule',
  status: 'succeeded',
  queuedAt: '2026-01-01T00:00:00.000Z',
  startedAt: '2026-01-01T00:00:01.000Z',
  finishedAt: '2026-01-01T00:00:03.500Z',
  counts: { ...ZERO_COUNTS },
  confirmDeactivations: false,
  changePages: 0,
  tenant: 'contoso',
  ...overrides,
});

describe('notification e-mails', () => {
  it.each([
    [undefined, { emails: [] }],
    [
      [' ops@partner.example ', 'OPS@partner.example', 'b@x.example'],
      { emails: ['ops@partner.example', 'b@x.example'] },
    ],
    [
      ['a@x.example', 'b@x.example', 'c@x.example', 'd@x.example', 'e@x.example'],
      { emails: ['a@x.example', 'b@x.example', 'c@x.example', 'd@x.example', 'e@x.example'] },
    ],
  ])('accepts %j', (value, expected) => {
    expect(normalizeNotificationEmails(value)).toEqual(expected);
  });

  it.each([
    ['ops@partner.example'],
    [['no-at-sign']],
    [['two@@x.example']],
    [['a b@x.example']],
    [['a@x.example', 'b@x.example', 'c@x.example', 'd@x.example', 'e@x.example', 'f@x.example']],
    [[42]],
  ])('refuses %j', (value) => {
    expect(normalizeNotificationEmails(value)).toHaveProperty('error');
  });
});

describe('dry run preview', () => {
  it('validates tenant and groups like the settings, naming each bad field', () => {
    expect(validatePreview({ groupsToSync: ` ${G1.toUpperCase()}, ` }, 'env', undefined)).toEqual({
      groupsToSync: [G1],
    });
    expect(validatePreview({ tenant: 't' }, 'env', { environments: ['env'] })).toEqual({ tenant: 't' });
    expect(
      thrown(() => validatePreview({ tenant: 't', groupsToSync: 'x' }, 'env', { environments: ['other'] })),
    ).toMatchObject({
      code: 'validation',
      fields: {
        tenant: 'tenant "t" does not allow environment "env"',
        groupsToSync: expect.any(String) as string,
      },
    });
  });

  it('refuses proposed settings without dryRun', () => {
    expect(dryRunOf({ dryRun: true, groupsToSync: G1 })).toEqual({
      dryRun: { tenant: undefined, groupsToSync: G1 },
    });
    expect(dryRunOf({ confirmDeactivations: true })).toEqual({});
    expect(thrown(() => dryRunOf({ tenant: 't' }))).toMatchObject({
      code: 'validation',
      fields: { tenant: expect.any(String) as string },
    });
  });
});

describe('tenant health', () => {
  it.each<[string, Partial<StoredRun>, unknown]>([
    ['a successful run', {}, { ok: true }],
    ['a halted run (the directory answered)', { status: 'halted' }, { ok: true }],
    [
      'a directory failure',
      { status: 'failed', error: { code: 'directory-credentials-expired', message: 'm' } },
      { ok: false, code: 'directory-credentials-expired', message: 'm' },
    ],
    [
      'a tenant that no longer allows the environment',
      { status: 'failed', error: { code: 'tenant-not-allowed', message: 'm' } },
      { ok: false, code: 'tenant-not-allowed', message: 'm' },
    ],
    [
      'a storage failure (not the tenant)',
      { status: 'failed', error: { code: 'internal', message: 'm' } },
      undefined,
    ],
    ['a dry run', { dryRun: true }, undefined],
    ['a run that never opened its tenant', { tenant: undefined }, undefined],
  ])('%s', (_, overrides, expected) => {
    expect(healthOfRun(run(overrides))).toEqual(expected);
  });

  it.each<[string, Parameters<typeof isSameHealth>[0], Parameters<typeof isSameHealth>[1], boolean]>([
    ['unknown until first used', { state: 'unknown' }, { ok: true }, false],
    ['still ok, recently', { state: 'ok', checkedAt: '2026-01-01T11:30:00.000Z' }, { ok: true }, true],
    [
      'still ok, but an hour ago',
      { state: 'ok', checkedAt: '2026-01-01T11:00:00.000Z' },
      { ok: true },
      false,
    ],
    [
      'ok turns failing',
      { state: 'ok', checkedAt: '2026-01-01T11:30:00.000Z' },
      { ok: false, code: 'group-not-found', message: 'm' },
      false,
    ],
    [
      'failing with the same code',
      {
        state: 'failing',
        checkedAt: '2026-01-01T11:30:00.000Z',
        error: { code: 'group-not-found', message: 'm' },
      },
      { ok: false, code: 'group-not-found', message: 'm2' },
      true,
    ],
    [
      'failing with another code',
      {
        state: 'failing',
        checkedAt: '2026-01-01T11:30:00.000Z',
        error: { code: 'group-not-found', message: 'm' },
      },
      { ok: false, code: 'directory-credentials-expired', message: 'm' },
      false,
    ],
  ])('a run rewrites the status only when it says something new: %s', (_, stored, observation, same) => {
    expect(isSameHealth(stored, observation, new Date('2026-01-01T12:00:00.000Z'))).toBe(same);
  });

  it('a check is ok only when the token and every group are', () => {
    expect(
      healthOfCheck({ ok: true, token: { ok: true }, groups: [{ id: G1, ok: true, displayName: 'A' }] }),
    ).toEqual({ ok: true });
    expect(
      healthOfCheck({
        ok: false,
        token: { ok: true },
        groups: [{ id: G1, ok: false, error: { code: 'group-not-found', message: 'm' } }],
      }),
    ).toEqual({ ok: false, code: 'group-not-found', message: 'm' });
  });
});

describe('failure mail', () => {
  const base = {
    to: 'ops@partner.example',
    environmentId: 'acme-prod',
    environmentName: 'Acme <production>',
    runId: '0000000000001-abcdefabcdef',
    trigger: 'periodic',
    finishedAt: '2026-01-01T00:00:03.500Z',
    runUrl: runConsoleUrl('https://app.example', 'acme-prod', '0000000000001-abcdefabcdef'),
  };

  it('names the environment, the run, the error and what to do, with a link, in text and HTML', () => {
    const mail = runFailureMail({
      ...base,
      trouble: {
        kind: 'failed',
        code: 'directory-credentials-expired',
        message: 'The client secret has expired.',
      },
    });
    expect(mail.subject).toContain('failed');
    for (const part of [
      'Acme <production>',
      'acme-prod',
      base.runId,
      'directory-credentials-expired',
      'The client secret has expired.',
      'What to do',
      'https://app.example/console/environments/acme-prod/runs/0000000000001-abcdefabcdef',
    ]) {
      expect(mail.text).toContain(part);
    }
    expect(mail.html).toContain('Acme &lt;production&gt;');
    expect(mail.html).not.toContain('<production>');
    expect(mail.html).toContain('href="https://app.example/console/environments/acme-prod/runs/');
  });

  it('says how many deactivations a halt held back', () => {
    const mail = runFailureMail({
      ...base,
      trouble: { kind: 'halted', deactivations: 12, alreadyApplied: 0, limit: 10 },
    });
    expect(mail.subject).toContain('halted');
    expect(mail.text).toContain('12 user(s)');
    expect(mail.text).toContain('limit is 10');
    expect(mail.text).toContain('It changed nothing.');
  });

  it('says what an earlier attempt of a halted retry applied, and never that nothing changed', () => {
    const mail = runFailureMail({
      ...base,
      trouble: { kind: 'halted', deactivations: 1, alreadyApplied: 1, limit: 1 },
    });
    expect(mail.text).toContain('had deactivated 1 user(s) before it was retried');
    expect(mail.text).toContain('would have deactivated 1 more');
    expect(mail.text).not.toContain('It changed nothing.');
  });
});

describe('run summary', () => {
  it('is one flat entry with the run, its tenant, status, counts, phases and error code', () => {
    const summary = runSummary(
      run({
        status: 'failed',
        error: { code: 'group-not-found', message: 'm' },
        counts: { ...ZERO_COUNTS, added: 3 },
      }),
      { readDirectoryMs: 120 },
    );
    expect(summary).toEqual({
      runId: '0000000000001-abcdefabcdef',
      environment: 'env',
      tenant: 'contoso',
      trigger: 'periodic',
      status: 'failed',
      dryRun: false,
      wouldHalt: false,
      errorCode: 'group-not-found',
      added: 3,
      granted: 0,
      updated: 0,
      deactivated: 0,
      reactivated: 0,
      unchanged: 0,
      durationMs: 2500,
      readDirectoryMs: 120,
    });
  });
});

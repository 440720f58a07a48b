import { describe, expect, it } from 'vitest';
import { resultOf, type CheckError, type CheckResult, type GroupCheck } from '../../shared/tenants/check.js';
import { runFailureMail } from '../../shared/notifications/message.js';

const A = '11111111-2222-3333-4444-555555555555';
const B = '66666666-7777-8888-9999-000000000000';
const LATE: CheckError = { code: 'directory-timeout', message: 'late' };
const REFUSED: CheckError = { code: 'directory-credentials-invalid', message: 'refused' };
const okA: GroupCheck = { id: A, ok: true, displayName: 'A' };
const missingB: GroupCheck = { id: B, ok: false, error: { code: 'group-not-found', message: 'gone' } };

describe('connection check answer, from what was found by the deadline', () => {
  it.each<[string, { token?: CheckResult['token']; groups: GroupCheck[] }, CheckResult]>([
    [
      'everything answered',
      { token: { ok: true }, groups: [okA, missingB] },
      { ok: false, token: { ok: true }, groups: [okA, missingB] },
    ],
    [
      'one group unanswered: it alone is late, in the order asked',
      { token: { ok: true }, groups: [okA] },
      { ok: false, token: { ok: true }, groups: [okA, { id: B, ok: false, error: LATE }] },
    ],
    [
      'no token yet: the token and every group are late',
      { groups: [] },
      {
        ok: false,
        token: { ok: false, error: LATE },
        groups: [
          { id: A, ok: false, error: LATE },
          { id: B, ok: false, error: LATE },
        ],
      },
    ],
    [
      'a refused token: every group carries its error',
      { token: { ok: false, error: REFUSED }, groups: [] },
      {
        ok: false,
        token: { ok: false, error: REFUSED },
        groups: [
          { id: A, ok: false, error: REFUSED },
          { id: B, ok: false, error: REFUSED },
        ],
      },
    ],
  ])('%s', (_, found, expected) => {
    expect(resultOf([A, B], { ...found, groups: new Map(found.groups.map((g) => [g.id, g])) }, LATE)).toEqual(
      expected,
    );
  });

  it('is ok only when the token and every group asked for are', () => {
    const found = { token: { ok: true } as const, groups: new Map([[A, okA]]) };
    expect(resultOf([A], found, LATE).ok).toBe(true);
    expect(resultOf([], found, LATE).ok).toBe(true);
    expect(resultOf([A, B], found, LATE).ok).toBe(false);
  });
});

describe('failure mail of a run that failed on our side', () => {
  const base = {
    to: 'ops@partner.example',
    environmentId: 'acme-prod',
    environmentName: 'Acme',
    runId: '0000000000001-abcdefabcdef',
    trigger: 'manual',
    finishedAt: '2026-01-01T00:00:03.500Z',
    runUrl: 'https://app.example/console/environments/acme-prod/runs/0000000000001-abcdefabcdef',
  };

  it('does not send the reader to fix settings, nor claim nobody was deactivated', () => {
    const mail = runFailureMail({
      ...base,
      trouble: { kind: 'failed', code: 'internal', message: 'The run failed repeatedly and was abandoned.' },
    });
    expect(mail.text).toContain('abandoned');
    expect(mail.text).toContain("Nothing in the environment's settings caused this");
    expect(mail.text).not.toContain('Nobody was deactivated');
    const directory = runFailureMail({
      ...base,
      trouble: { kind: 'failed', code: 'group-not-found', message: 'Group x was not found.' },
    });
    expect(directory.text).toContain('Fix what the message names');
  });
});

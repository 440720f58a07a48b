import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { principalFromClaims } from '../../shared/auth/management.js';
import { isAllowed, tenantListScope, type Principal } from '../../shared/auth/policy.js';
import { diffFields } from '../../shared/audit/trail.js';
import { normalizeGroupsToSync, validateSettings } from '../../shared/environments/service.js';
import { isAppError } from '../../shared/errors.js';
import { passwordResetMail } from '../../shared/password-reset/message.js';
import { slidingWindow } from '../../shared/password-reset/rate-limit.js';
import { openSecret, sealedKeyId, sealSecret } from '../../shared/secrets/cipher.js';

const keyA = { id: 'a', key: randomBytes(32) };
const keyB = { id: 'b', key: randomBytes(32) };

function codeOf(run: () => unknown): string {
  try {
    run();
    return 'ok';
  } catch (error) {
    if (isAppError(error)) return error.code;
    throw error;
  }
}

describe('secrets cipher (AES-256-GCM)', () => {
  it('round-trips, with a fresh nonce per seal and the key id recorded', () => {
    const first = sealSecret('hunter2', 'tenant:acme', [keyA]);
    const second = sealSecret('hunter2', 'tenant:acme', [keyA]);
    expect(first).not.toBe(second);
    expect(first).not.toContain('hunter2');
    expect(first.split('.')[2]).not.toBe(second.split('.')[2]);
    expect(Buffer.from(first.split('.')[2]!, 'base64url')).toHaveLength(12);
    expect(sealedKeyId(first)).toBe('a');
    expect(openSecret(first, 'tenant:acme', [keyA])).toBe('hunter2');
  });

  it('binds the ciphertext to its owner and detects tampering', () => {
    const sealed = sealSecret('hunter2', 'tenant:acme', [keyA]);
    expect(codeOf(() => openSecret(sealed, 'tenant:other', [keyA]))).toBe('internal');
    const parts = sealed.split('.');
    const ciphertext = Buffer.from(parts[3]!, 'base64url');
    ciphertext[0] = ciphertext[0]! ^ 1;
    parts[3] = ciphertext.toString('base64url');
    expect(codeOf(() => openSecret(parts.join('.'), 'tenant:acme', [keyA]))).toBe('internal');
  });

  it('rotates: the first key encrypts, every key decrypts, a missing key is a configuration error', () => {
    const old = sealSecret('s', 'x', [keyA]);
    expect(openSecret(old, 'x', [keyB, keyA])).toBe('s');
    expect(sealedKeyId(sealSecret('s', 'x', [keyB, keyA]))).toBe('b');
    expect(codeOf(() => openSecret(old, 'x', [keyB]))).toBe('config-invalid');
  });
});

describe('policy', () => {
  const operator: Principal = { sub: 'o', roles: ['platform-operator'], environments: [] };
  const partner: Principal = { sub: 'p', roles: ['partner'], environments: ['e1'] };
  const admin: Principal = { sub: 'a', roles: ['environment-admin'], environments: ['e1'] };
  const e1 = { kind: 'environment', environmentId: 'e1' } as const;

  it('gives the integration switch to operators only', () => {
    expect(isAllowed(operator, 'environment:write', { kind: 'none' })).toBe(true);
    expect(isAllowed(partner, 'environment:write', { kind: 'none' })).toBe(false);
    expect(isAllowed(admin, 'environment:write', { kind: 'none' })).toBe(false);
  });

  it('gives an environment to its admins and operators, not to partners listing it', () => {
    expect(isAllowed(admin, 'environment:manage', e1)).toBe(true);
    expect(isAllowed(admin, 'environment:manage', { kind: 'environment', environmentId: 'e2' })).toBe(false);
    expect(isAllowed(partner, 'environment:manage', e1)).toBe(false);
    expect(isAllowed(operator, 'environment:manage', e1)).toBe(true);
  });

  it('gives a tenant to its owner and operators', () => {
    expect(isAllowed(partner, 'tenant:manage', { kind: 'tenant', owner: 'p' })).toBe(true);
    expect(isAllowed(partner, 'tenant:manage', { kind: 'tenant', owner: 'q' })).toBe(false);
    expect(isAllowed(admin, 'tenant:manage', { kind: 'tenant', owner: 'a' })).toBe(false);
    expect(isAllowed(operator, 'tenant:manage', { kind: 'tenant', owner: 'q' })).toBe(true);
    expect(tenantListScope(operator)).toBe('all');
    expect(tenantListScope(partner)).toBe('own');
  });

  it('reads principals from claims, ignoring unknown roles', () => {
    expect(
      principalFromClaims({ sub: 's', roles: ['partner', 'root', 'partner'], environments: 'e1' }),
    ).toEqual({
      sub: 's',
      roles: ['partner'],
      environments: ['e1'],
    });
    expect(codeOf(() => principalFromClaims({ roles: ['partner'] }))).toBe('unauthorized');
  });
});

describe('settings validation', () => {
  const g1 = '0A1B2C3D-0000-4000-8000-000000000001';
  const g2 = '0a1b2c3d-0000-4000-8000-000000000002';

  it('normalizes groupsToSync', () => {
    expect(normalizeGroupsToSync(`${g1}, ,${g2} ,${g1.toLowerCase()},`)).toEqual({
      ids: [g1.toLowerCase(), g2],
    });
    expect(normalizeGroupsToSync(' , ')).toEqual({ error: 'must list at least one group id' });
    expect(normalizeGroupsToSync(undefined)).toEqual({ error: 'is required' });
    expect(normalizeGroupsToSync(`${g1},{${g2}}`)).toEqual({
      error: `must hold only GUIDs; not a GUID: "{${g2}}"`,
    });
  });

  it('applies defaults and checks the tenant allows the environment', () => {
    expect(validateSettings({ tenant: 't', groupsToSync: g2 }, 'env', { environments: ['env'] })).toEqual({
      tenant: 't',
      groupsToSync: [g2],
      defaultMenus: [],
      periodicSync: false,
      deactivationLimit: 50,
      notificationEmails: [],
    });
    const error = (() => {
      try {
        validateSettings({ tenant: 't', groupsToSync: g2, deactivationLimit: -3 }, 'env', {
          environments: ['other'],
        });
      } catch (caught) {
        return caught;
      }
      return undefined;
    })();
    expect(isAppError(error, 'validation') && error.fields).toEqual({
      tenant: 'no tenant "t" allows environment "env"',
      deactivationLimit: 'must be an integer ≥ 0',
    });
  });
});

describe('audit diff', () => {
  it('lists changed fields only', () => {
    expect(diffFields({ a: 1, b: [1], c: 'x' }, { a: 1, b: [1, 2], d: true })).toEqual({
      b: { from: [1], to: [1, 2] },
      c: { from: 'x', to: null },
      d: { from: null, to: true },
    });
  });
});

describe('password reset mail and limit', () => {
  it('says where the password is changed, escapes HTML and holds no link', () => {
    const mail = passwordResetMail({ to: 'a@b.test', environmentName: '<script>x</script>' });
    expect(mail.html).not.toContain('<script>');
    expect(mail.html).toContain('&lt;script&gt;');
    for (const body of [mail.text, mail.html]) {
      expect(body).toContain('Microsoft Entra ID (Azure AD)');
      expect(body).not.toMatch(/https?:|href/i);
    }
  });

  it('allows five mails in any hour', () => {
    const now = new Date('2026-11-28T12:00:00Z');
    const times = (minutesAgo: number[]) =>
      minutesAgo.map((m) => new Date(now.getTime() - m * 60_000).toISOString());
    expect(slidingWindow(times([1, 2, 3, 4]), now).allowed).toBe(true);
    expect(slidingWindow(times([1, 2, 3, 4, 59]), now).allowed).toBe(false);
    const result = slidingWindow(times([1, 2, 3, 4, 61]), now);
    expect(result.allowed).toBe(true);
    expect(result.kept).toHaveLength(4);
  });
});

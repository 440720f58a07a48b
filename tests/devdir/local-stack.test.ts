import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDevDirectory, type DevDirectory } from '../../devdir/index.js';
import { startMailSink, type MailSink } from '../../devdir/mail-sink.js';
import {
  devDirectoryOrigin,
  mailMessages,
  mailSinkUrl,
  managementToken,
  waitForMail,
} from '../support/dev-directory.js';

const DEMO_TENANT = '3ce052ee-6356-4a42-8b2f-57cebc5ee88e';
const DEMO_GROUP = 'fe581e08-d49b-47ec-ad22-9844bc681379';

describe('the demo seed, management tokens and the mail sink', () => {
  let workDir: string;
  let demo: DevDirectory;
  let sink: MailSink;
  const lines: string[] = [];

  beforeAll(async () => {
    workDir = await mkdtemp(path.join(tmpdir(), 'devdir-stack-'));
    // This directory has its own CA, which this worker does not trust: it is used in-process only.
    [demo, sink] = await Promise.all([
      startDevDirectory({
        stateDir: path.join(workDir, 'devdir'),
        seed: path.resolve('devdir/seed/demo.json'),
      }),
      startMailSink({ dir: path.join(workDir, 'mail'), log: (line) => lines.push(line) }),
    ]);
  });

  afterAll(async () => {
    await Promise.all([demo.stop(), sink.stop()]);
    await rm(workDir, { recursive: true, force: true });
  });

  it('seeds the demo tenant: a nested group, a guest without mail, a disabled user, the demo app', async () => {
    const directory = await demo.admin.getDirectory(DEMO_TENANT);
    expect(directory.applications[0]?.redirectUris).toEqual(['http://localhost:7071/api/auth/callback']);
    const group = await demo.admin.getGroup(DEMO_TENANT, DEMO_GROUP);
    expect(group.displayName).toBe('BizzStream Users');
    const guest = await demo.admin.getUser(DEMO_TENANT, 'c85b628b-7795-48ba-8a94-237a701f301b');
    expect(guest).toMatchObject({ mail: null, otherMails: ['lee@fabrikam.example'] });
    expect(guest.userPrincipalName).toContain('#EXT#');
    const disabled = await demo.admin.getUser(DEMO_TENANT, '38e88293-4cae-46c2-882a-bb2c0aa1a0df');
    expect(disabled.accountEnabled).toBe(false);
    const token = await demo.admin.issueAccessToken(DEMO_TENANT);
    expect(token.split('.')).toHaveLength(3);
  });

  it('issues management tokens verifiable against ${origin}/management/keys', async () => {
    const token = await managementToken('environment-admin', ['demo'], 'alice');
    const origin = devDirectoryOrigin();
    const { payload } = await jwtVerify(token, createRemoteJWKSet(new URL(`${origin}/management/keys`)), {
      issuer: `${origin}/management`,
      audience: 'api://bizzstream-external-users',
      algorithms: ['RS256'],
    });
    expect(payload).toMatchObject({ sub: 'alice', roles: ['environment-admin'], environments: ['demo'] });
    const expired = await managementToken({ sub: 'bob', roles: ['partner'], expiresInSeconds: -60 });
    await expect(
      jwtVerify(expired, createRemoteJWKSet(new URL(`${origin}/management/keys`))),
    ).rejects.toMatchObject({ code: 'ERR_JWT_EXPIRED' });
  });

  it('keeps each mail as a readable .eml file and prints one line per message', async () => {
    const transport = nodemailer.createTransport(`smtp://localhost:${sink.port}`);
    await transport.sendMail({
      from: 'BizzStream <no-reply@bizzstream.local>',
      to: 'Lee <lee@fabrikam.example>',
      subject: 'Your password is managed by your organization',
      text: 'Änderungen am Kennwort: bei Ihrer Organisation.',
      html: '<p>Änderungen am Kennwort: bei Ihrer Organisation.</p>',
    });
    const [message] = await sink.messages();
    expect(message).toMatchObject({
      envelopeFrom: 'no-reply@bizzstream.local',
      envelopeTo: ['lee@fabrikam.example'],
      to: ['lee@fabrikam.example'],
      subject: 'Your password is managed by your organization',
    });
    expect(message?.text.trim()).toBe('Änderungen am Kennwort: bei Ihrer Organisation.');
    expect(message?.file.endsWith('.eml')).toBe(true);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('lee@fabrikam.example');

    // The run's shared sink, as other tests reach it.
    const shared = nodemailer.createTransport(mailSinkUrl());
    const to = `someone-${Date.now()}@example.test`;
    await shared.sendMail({ from: 'x@example.test', to, subject: 'shared sink', text: 'hello' });
    const [received] = await waitForMail(to);
    expect(received?.subject).toBe('shared sink');
    expect(await mailMessages({ to: 'nobody@example.test' })).toEqual([]);
  });

  it('lets a guest sign in with the address in otherMails', async () => {
    // The run's directory (trusted by this worker) gets the demo seed's guest shape.
    const { createTestDirectory } = await import('../support/dev-directory.js');
    const directory = await createTestDirectory({
      users: [
        {
          displayName: 'Lee Gu',
          userPrincipalName: 'lee_fabrikam.example#EXT#@guest.example',
          mail: null,
          otherMails: ['lee@fabrikam.example'],
          password: 'Guest-Passw0rd!',
        },
      ],
    });
    const result = await directory.signInAt(
      {
        redirect_uri: 'http://localhost:7071/api/auth/callback',
        scope: 'openid profile email',
        state: 'x',
      },
      {
        username: 'LEE@fabrikam.example',
        password: 'Guest-Passw0rd!',
      },
    );
    expect(result).toMatchObject({ kind: 'redirect', state: 'x' });
  });
});

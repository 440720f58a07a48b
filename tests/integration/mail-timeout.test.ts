import { createServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSmtpMailer } from '../../shared/mail/mailer.js';

/** A relay that accepts connections and never says a word (no greeting). */
let port: number;
const sockets = new Set<Socket>();
const silent = createServer((socket) => {
  sockets.add(socket);
  socket.on('close', () => sockets.delete(socket));
});

beforeAll(async () => {
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', () => resolve()));
  port = (silent.address() as AddressInfo).port;
});

afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  await new Promise<void>((resolve) => silent.close(() => resolve()));
});

describe('SMTP timeout', () => {
  it('a relay that never greets fails the send within its timeout instead of hanging', async () => {
    const mailer = createSmtpMailer({
      smtpUrl: `smtp://127.0.0.1:${port}`,
      mailFrom: 'no-reply@example.test',
      timeoutMs: 500,
    });
    const started = Date.now();
    await expect(
      mailer.send({ to: 'someone@example.test', subject: 'x', text: 'x', html: '<p>x</p>' }),
    ).rejects.toMatchObject({ code: 'internal', message: 'The mail could not be sent.' });
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});

import type { Transporter } from 'nodemailer';
import { AppError } from '../errors.js';

export interface OutgoingMail {
  readonly to: string;
  readonly subject: string;
  readonly text: string;
  readonly html: string;
}

/** The one way mail leaves the service. */
export interface Mailer {
  send(mail: OutgoingMail): Promise<void>;
}

/**
 * A relay that accepts the connection and then stalls must not hold the request that sends the
 * mail: connecting, the greeting and every later silence each end after this long.
 */
export const SMTP_TIMEOUT_MS = 15_000;

/**
 * Sends through the SMTP relay at `smtpUrl`, from `mailFrom`. The transport, and nodemailer itself,
 * are loaded on the first mail: most processes of the app never send one (mail goes out after a
 * failed run or a password reset), and the module weighs several MiB of every instance's memory.
 */
export function createSmtpMailer(settings: {
  readonly smtpUrl: string;
  readonly mailFrom: string;
  readonly timeoutMs?: number;
}): Mailer {
  const timeout = settings.timeoutMs ?? SMTP_TIMEOUT_MS;
  let transport: Promise<Transporter> | undefined;
  const createTransport = async (): Promise<Transporter> => {
    const { default: nodemailer } = await import('nodemailer');
    return nodemailer.createTransport({
      url: settings.smtpUrl,
      connectionTimeout: timeout,
      greetingTimeout: timeout,
      socketTimeout: timeout,
    });
  };
  return {
    async send(mail) {
      try {
        // A transport that could not be made is not kept: the next mail tries again.
        transport ??= createTransport().catch((error: unknown) => {
          transport = undefined;
          throw error;
        });
        await (await transport).sendMail({ from: settings.mailFrom, ...mail });
      } catch (error) {
        throw new AppError('internal', 'The mail could not be sent.', { cause: error });
      }
    },
  };
}

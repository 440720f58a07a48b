import nodemailer from 'nodemailer';
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

/** Sends through the SMTP relay at `smtpUrl`, from `mailFrom`; the transport is made on first use. */
export function createSmtpMailer(settings: {
  readonly smtpUrl: string;
  readonly mailFrom: string;
  readonly timeoutMs?: number;
}): Mailer {
  const timeout = settings.timeoutMs ?? SMTP_TIMEOUT_MS;
  let transport: ReturnType<typeof nodemailer.createTransport> | undefined;
  return {
    async send(mail) {
      transport ??= nodemailer.createTransport({
        url: settings.smtpUrl,
        connectionTimeout: timeout,
        greetingTimeout: timeout,
        socketTimeout: timeout,
      });
      try {
        await transport.sendMail({ from: settings.mailFrom, ...mail });
      } catch (error) {
        throw new AppError('internal', 'The mail could not be sent.', { cause: error });
      }
    },
  };
}

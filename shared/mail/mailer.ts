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

/** Sends through the SMTP relay at `smtpUrl`, from `mailFrom`; the transport is made on first use. */
export function createSmtpMailer(settings: { readonly smtpUrl: string; readonly mailFrom: string }): Mailer {
  let transport: ReturnType<typeof nodemailer.createTransport> | undefined;
  return {
    async send(mail) {
      transport ??= nodemailer.createTransport(settings.smtpUrl);
      try {
        await transport.sendMail({ from: settings.mailFrom, ...mail });
      } catch (error) {
        throw new AppError('internal', 'The mail could not be sent.', { cause: error });
      }
    },
  };
}

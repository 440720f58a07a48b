import nodemailer, { type Transporter } from 'nodemailer';
import { getConfig } from '../config.js';
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

const transports = new Map<string, Transporter>();

function transportFor(smtpUrl: string): Transporter {
  let transport = transports.get(smtpUrl);
  if (!transport) {
    transport = nodemailer.createTransport(smtpUrl);
    transports.set(smtpUrl, transport);
  }
  return transport;
}

/** Sends through `SMTP_URL` from `MAIL_FROM`, both read at send time. */
export const smtpMailer: Mailer = {
  async send(mail) {
    const { smtpUrl, mailFrom } = getConfig();
    try {
      await transportFor(smtpUrl).sendMail({ from: mailFrom, ...mail });
    } catch (error) {
      throw new AppError('internal', 'The mail could not be sent.', { cause: error });
    }
  },
};

let current: Mailer = smtpMailer;

export function mailer(): Mailer {
  return current;
}

/** Tests may capture mail instead of sending it; `undefined` restores SMTP. */
export function setMailer(next: Mailer | undefined): void {
  current = next ?? smtpMailer;
}

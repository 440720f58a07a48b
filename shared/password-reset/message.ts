import { escapeHtml } from '../mail/html.js';
import type { OutgoingMail } from '../mail/mailer.js';

/**
 * Pure: the answer to a password reset request of an external user. Their password
 * lives in their organization's Microsoft Entra ID, so the mail says where to change it and
 * carries no link or token: there is nothing here to reset, and a link would only train people to
 * follow password links in mail.
 */
export function passwordResetMail(input: { to: string; environmentName: string }): OutgoingMail {
  const { to, environmentName } = input;
  const subject = `Your BizzStream password for ${environmentName}`;
  const lines = [
    'Hello,',
    '',
    `Someone asked to reset the BizzStream password of ${to} for the environment "${environmentName}".`,
    '',
    "Your account is managed by your organization's Microsoft Entra ID (Azure AD), so BizzStream does not keep a password for it.",
    "Your password is changed there: use your organization's own password reset, or ask your IT department or help desk.",
    'Afterwards, sign in to BizzStream with your organization account as usual.',
    '',
    'If you did not ask for this, you can ignore this message.',
  ];
  const html = [
    '<!doctype html>',
    '<html><body style="font-family: sans-serif">',
    '<p>Hello,</p>',
    `<p>Someone asked to reset the BizzStream password of <strong>${escapeHtml(to)}</strong> for the environment <strong>${escapeHtml(environmentName)}</strong>.</p>`,
    "<p>Your account is managed by your organization's <strong>Microsoft Entra ID (Azure AD)</strong>, so BizzStream does not keep a password for it.</p>",
    "<p>Your password is changed there: use your organization's own password reset, or ask your IT department or help desk. Afterwards, sign in to BizzStream with your organization account as usual.</p>",
    '<p>If you did not ask for this, you can ignore this message.</p>',
    '</body></html>',
  ];
  return { to, subject, text: `${lines.join('\n')}\n`, html: html.join('\n') };
}

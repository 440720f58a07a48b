import { escapeHtml } from '../mail/html.js';
import type { OutgoingMail } from '../mail/mailer.js';

/** What went wrong with a run, as the mail tells it. */
export type RunTrouble =
  | { readonly kind: 'failed'; readonly code: string; readonly message: string }
  | {
      readonly kind: 'halted';
      /** The deactivations the run held back. */
      readonly deactivations: number;
      /** Those an earlier attempt of the run applied before it was retried and halted. */
      readonly alreadyApplied: number;
      readonly limit: number | undefined;
    };

export interface FailureMailInput {
  readonly to: string;
  readonly environmentId: string;
  readonly environmentName: string;
  readonly runId: string;
  readonly trigger: string;
  readonly finishedAt: string;
  readonly trouble: RunTrouble;
  /** Where the run is shown in the console. */
  readonly runUrl: string;
}

function whatHappened(input: FailureMailInput): { summary: string; detail: string; todo: string } {
  const { trouble } = input;
  if (trouble.kind === 'failed') {
    return {
      summary: `failed (${trouble.code})`,
      detail: `The sync of the external users of "${input.environmentName}" failed with error ${trouble.code}: ${trouble.message}`,
      todo:
        trouble.code === 'internal'
          ? "Nothing in the environment's settings caused this. Start a sync again (or wait for the next periodic sync): it completes whatever part of its changes this run did not apply. If runs keep failing this way, contact BizzStream support with the link below."
          : 'Fix what the message names, then start a sync again (or wait for the next periodic sync). Nobody was deactivated by this run.',
    };
  }
  const limit = trouble.limit === undefined ? '' : ` (its deactivation limit is ${trouble.limit})`;
  const halted = `The sync of the external users of "${input.environmentName}" halted:`;
  return {
    summary: 'halted',
    detail:
      trouble.alreadyApplied === 0
        ? `${halted} it would have deactivated ${trouble.deactivations} user(s), more than the environment allows${limit}. It changed nothing.`
        : `${halted} an earlier attempt of it had deactivated ${trouble.alreadyApplied} user(s) before it was retried, and the retry would have deactivated ${trouble.deactivations} more, more than the environment allows${limit} in all. The retry changed nothing.`,
    todo: 'Look at the run\'s changes to see who would lose access. If that is right, start a sync with "Confirm deactivations" (or raise the deactivation limit); if not, check the groups configured for the environment.',
  };
}

/**
 * Pure: the mail that tells an environment's contacts that a run failed or halted. It holds no
 * secret or token: the run's error message never does.
 */
export function runFailureMail(input: FailureMailInput): OutgoingMail {
  const { summary, detail, todo } = whatHappened(input);
  const subject = `BizzStream sync of ${input.environmentName} ${summary}`;
  const text = [
    'Hello,',
    '',
    detail,
    '',
    `What to do: ${todo}`,
    '',
    `Environment: ${input.environmentName} (${input.environmentId})`,
    `Run: ${input.runId} (${input.trigger}, finished ${input.finishedAt})`,
    `See the run: ${input.runUrl}`,
    '',
    'You receive this because your address is in the notification e-mails of the environment. No further mail is sent for the same problem until a sync succeeds.',
  ];
  const html = [
    '<!doctype html>',
    '<html><body style="font-family: sans-serif">',
    '<p>Hello,</p>',
    `<p>${escapeHtml(detail)}</p>`,
    `<p><strong>What to do:</strong> ${escapeHtml(todo)}</p>`,
    '<ul>',
    `<li>Environment: ${escapeHtml(input.environmentName)} (${escapeHtml(input.environmentId)})</li>`,
    `<li>Run: ${escapeHtml(input.runId)} (${escapeHtml(input.trigger)}, finished ${escapeHtml(input.finishedAt)})</li>`,
    '</ul>',
    `<p><a href="${escapeHtml(input.runUrl)}">See the run in the console</a></p>`,
    '<p>You receive this because your address is in the notification e-mails of the environment. No further mail is sent for the same problem until a sync succeeds.</p>',
    '</body></html>',
  ];
  return { to: input.to, subject, text: `${text.join('\n')}\n`, html: html.join('\n') };
}

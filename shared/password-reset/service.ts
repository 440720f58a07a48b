import type { InvocationContext } from '@azure/functions';
import type { Clock } from '../clock.js';
import type { EnvironmentRecord } from '../environments/repository.js';
import { AppError } from '../errors.js';
import type { Mailer } from '../mail/mailer.js';
import type { StorageAccount } from '../storage/account.js';
import { isEnvironmentId } from '../tenants/schemas.js';
import { THROTTLES, type Throttle } from '../throttle/limiter.js';
import { passwordResetMail } from './message.js';
import { addressKey, type MailLimiter } from './rate-limit.js';
import {
  passwordResetMessageSchema,
  type PasswordResetMessage,
  type PasswordResetRequest,
} from './schemas.js';

/**
 * Password reset. The HTTP request only validates the shape and queues the request, the same work
 * whoever the address belongs to, so neither the answer nor its timing tells whether the address
 * exists. The queue worker decides whether a mail goes out. Every request of the shape is answered
 * 202: one past the request limits, or naming an environment that cannot exist, is dropped here
 * (no lookup, no mail), and only the log says so.
 */
export const PASSWORD_RESET_QUEUE = 'password-reset';

export type PasswordResetOutcome =
  'sent' | 'no-active-user' | 'rate-limited' | 'unknown-environment' | 'expired' | 'malformed';

/** What became of a request: queued for the worker, or dropped and why. */
export type PasswordResetAdmission = 'queued' | 'throttled' | 'unknown-environment';

/** Requests older than this are dropped rather than mailed late. */
const MAX_AGE_MS = 60 * 60 * 1000;

type Log = Pick<InvocationContext, 'log' | 'warn'>;

export interface PasswordResetService {
  /**
   * Queues the request, after counting it against its client address (when known) and its
   * address; past either limit it is dropped.
   */
  request(
    request: PasswordResetRequest,
    clientAddress: string | undefined,
    log: Log,
  ): Promise<PasswordResetAdmission>;
  process(payload: unknown, log: Log): Promise<PasswordResetOutcome>;
}

export interface PasswordResetDeps {
  readonly storage: Pick<StorageAccount, 'queue'>;
  readonly clock: Clock;
  readonly environments: { get(id: string): Promise<EnvironmentRecord | undefined> };
  readonly users: {
    /** Users of the environment with active access whose email is `email` (case-insensitive). */
    findActiveByEmail(
      environmentId: string,
      email: string,
    ): Promise<ReadonlyArray<{ readonly email: string }>>;
  };
  readonly mailer: Mailer;
  readonly limiter: MailLimiter;
  readonly throttle: Throttle;
}

/**
 * Queues a well-formed request, or drops it. Each request counts against its client's limit
 * first, whatever it names; one that names no possible environment or is over a limit is dropped
 * before anything is read. The answer is the same either way, so it tells nobody which.
 */
async function queueRequest(
  deps: PasswordResetDeps,
  request: PasswordResetRequest,
  clientAddress: string | undefined,
  context: Log,
): Promise<PasswordResetAdmission> {
  const address = addressKey(request.email).slice(0, 16);
  if (clientAddress !== undefined && !(await deps.throttle.admit(THROTTLES.resetPerClient, clientAddress))) {
    context.warn('password reset: request limit reached, dropped', { address });
    return 'throttled';
  }
  if (!isEnvironmentId(request.environment)) return 'unknown-environment';
  if (!(await deps.throttle.admit(THROTTLES.resetPerAddress, request.email.trim().toLowerCase()))) {
    context.warn('password reset: request limit reached, dropped', {
      address,
      environment: request.environment,
    });
    return 'throttled';
  }
  const message: PasswordResetMessage = { ...request, requestedAt: deps.clock.now().toISOString() };
  const queue = await deps.storage.queue(PASSWORD_RESET_QUEUE);
  try {
    // Base64, as the Functions queue trigger expects by default.
    await queue.sendMessage(Buffer.from(JSON.stringify(message), 'utf8').toString('base64'));
  } catch (error) {
    throw new AppError('storage-unavailable', 'The request could not be queued.', { cause: error });
  }
  return 'queued';
}

export function createPasswordReset(deps: PasswordResetDeps): PasswordResetService {
  return {
    request: (request, clientAddress, context) => queueRequest(deps, request, clientAddress, context),

    async process(payload, context) {
      const message = passwordResetMessageSchema.safeParse(payload);
      if (!message.success) {
        // A malformed message can never succeed; retrying it would only delay the poison queue.
        context.warn('password reset: malformed queue message dropped');
        return 'malformed';
      }
      const { email, environment, requestedAt } = message.data;
      // The log names the address only by its hash.
      const log = { address: addressKey(email).slice(0, 16), environment };
      const now = deps.clock.now();
      if (now.getTime() - Date.parse(requestedAt) > MAX_AGE_MS) {
        context.warn('password reset: request too old, dropped', log);
        return 'expired';
      }
      const environmentRecord = await deps.environments.get(environment);
      if (!environmentRecord) {
        context.log('password reset: unknown environment', log);
        return 'unknown-environment';
      }
      const users = await deps.users.findActiveByEmail(environment, email);
      if (users.length === 0) {
        context.log('password reset: no external user with active access', log);
        return 'no-active-user';
      }
      if (!(await deps.limiter.take(email, now))) {
        context.warn('password reset: mail limit reached', log);
        return 'rate-limited';
      }
      // Mail goes to the address on record, not to the spelling the requester typed.
      const to = users[0]?.email ?? email;
      await deps.mailer.send(passwordResetMail({ to, environmentName: environmentRecord.name }));
      context.log('password reset: mail sent', log);
      return 'sent';
    },
  };
}

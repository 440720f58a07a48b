import { AppError, type ErrorCode } from '../errors.js';

/**
 * Why a sign-in failed, for the logs and for tests; never shown to the user, who gets the
 * message of its category instead.
 */
export type SigninFailureReason =
  // Login request
  | 'environment-unknown'
  | 'integration-disabled'
  | 'tenant-unconfigured'
  | 'directory-unreachable'
  // Transaction (state, cookie, single use)
  | 'transaction-cookie-missing'
  | 'transaction-unknown'
  | 'transaction-expired'
  | 'state-missing'
  | 'state-mismatch'
  | 'code-missing'
  | 'identity-provider-error'
  | 'code-exchange-failed'
  // ID token
  | 'id-token-missing'
  | 'id-token-malformed'
  | 'id-token-algorithm'
  | 'id-token-signature'
  | 'id-token-unknown-key'
  | 'id-token-issuer'
  | 'id-token-audience'
  | 'id-token-expired'
  | 'id-token-not-yet-valid'
  | 'id-token-issued-in-future'
  | 'id-token-nonce-missing'
  | 'id-token-nonce-mismatch'
  | 'id-token-tenant'
  | 'id-token-object-id-missing'
  // The person
  | 'user-unknown'
  | 'access-missing'
  | 'access-deactivated';

type Category = 'unknown-environment' | 'environment' | 'unavailable' | 'retry' | 'refused' | 'no-access';

const CATEGORY: Readonly<Record<SigninFailureReason, Category>> = {
  'environment-unknown': 'unknown-environment',
  'integration-disabled': 'environment',
  'tenant-unconfigured': 'environment',
  'directory-unreachable': 'unavailable',
  'transaction-cookie-missing': 'retry',
  'transaction-unknown': 'retry',
  'transaction-expired': 'retry',
  'state-missing': 'retry',
  'state-mismatch': 'retry',
  'code-missing': 'retry',
  'identity-provider-error': 'retry',
  'code-exchange-failed': 'retry',
  'id-token-missing': 'refused',
  'id-token-malformed': 'refused',
  'id-token-algorithm': 'refused',
  'id-token-signature': 'refused',
  'id-token-unknown-key': 'refused',
  'id-token-issuer': 'refused',
  'id-token-audience': 'refused',
  'id-token-expired': 'refused',
  'id-token-not-yet-valid': 'refused',
  'id-token-issued-in-future': 'refused',
  'id-token-nonce-missing': 'refused',
  'id-token-nonce-mismatch': 'refused',
  'id-token-tenant': 'refused',
  'id-token-object-id-missing': 'refused',
  'user-unknown': 'no-access',
  'access-missing': 'no-access',
  'access-deactivated': 'no-access',
};

const ENVIRONMENT_MESSAGE = 'Sign-in with your organization account is not available for this environment.';

interface Outcome {
  readonly code: ErrorCode;
  /** Heading of the page a browser shows. */
  readonly title: string;
  readonly message: string;
}

const OUTCOME: Readonly<Record<Category, Outcome>> = {
  'unknown-environment': {
    code: 'not-found',
    title: 'Sign-in is not available',
    message: ENVIRONMENT_MESSAGE,
  },
  environment: {
    code: 'integration-disabled',
    title: 'Sign-in is not available',
    message: ENVIRONMENT_MESSAGE,
  },
  unavailable: {
    code: 'directory-unreachable',
    title: 'Sign-in is unavailable',
    message: 'Your organization’s sign-in service could not be reached. Please try again in a few minutes.',
  },
  retry: {
    code: 'signin-failed',
    title: 'Sign-in did not complete',
    message:
      'Your sign-in could not be completed, or it took too long. Please start again from the sign-in page.',
  },
  refused: {
    code: 'signin-failed',
    title: 'Sign-in could not be verified',
    message: 'Your organization’s sign-in could not be verified. Please start again from the sign-in page.',
  },
  'no-access': {
    code: 'forbidden',
    title: 'No access to this environment',
    message:
      'Your account does not have access to this environment. If you think it should, ask your administrator.',
  },
};

/** A refused sign-in: its message is safe to show; its reason goes to the logs only. */
export class SigninError extends AppError {
  readonly reason: SigninFailureReason;
  readonly title: string;

  constructor(reason: SigninFailureReason, options: { cause?: unknown } = {}) {
    const outcome = OUTCOME[CATEGORY[reason]];
    super(outcome.code, outcome.message, options);
    this.reason = reason;
    this.title = outcome.title;
  }
}

export function isSigninError(value: unknown): value is SigninError {
  return value instanceof SigninError;
}

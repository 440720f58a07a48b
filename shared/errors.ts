/**
 * The one error type of the service. Every failure that crosses a layer is an AppError with a code
 * from this closed union; `shared/http/problem.ts` is the only place that turns codes into HTTP.
 */
export type ErrorCode =
  // Caller errors (management API, sign-in, password reset)
  | 'validation'
  | 'unauthorized'
  | 'forbidden'
  | 'not-found'
  | 'method-not-allowed'
  | 'conflict'
  | 'integration-disabled'
  | 'sync-in-progress'
  | 'managed-externally'
  | 'payload-too-large'
  | 'unsupported-media-type'
  | 'rate-limited'
  // Sign-in (OIDC) failures: always a 4xx, never a session
  | 'signin-failed'
  // A tenant's directory (Entra ID, Microsoft Graph): what a partner can act on
  | 'directory-unreachable'
  | 'directory-timeout'
  | 'directory-throttled'
  | 'directory-credentials-invalid'
  | 'directory-credentials-expired'
  | 'directory-app-not-found'
  | 'directory-tenant-not-found'
  | 'directory-permission-missing'
  | 'group-not-found'
  | 'directory-malformed-answer'
  | 'tenant-not-allowed'
  // Our own infrastructure
  | 'config-invalid'
  | 'storage-unavailable'
  /** The management token issuer's keys cannot be read, and the last ones read are too old. */
  | 'keys-unavailable'
  | 'internal';

export interface AppErrorOptions {
  cause?: unknown;
  /** Per-field messages for `validation` errors. */
  fields?: Readonly<Record<string, string>>;
  /** Extra top-level members for the problem document (e.g. `runId` of a run in progress). */
  extensions?: Readonly<Record<string, unknown>>;
  /** Seconds after which a retry may succeed (for `rate-limited`, `directory-throttled`). */
  retryAfterSeconds?: number;
}

export class AppError extends Error {
  override readonly name = 'AppError';
  readonly code: ErrorCode;
  readonly fields: Readonly<Record<string, string>> | undefined;
  readonly extensions: Readonly<Record<string, unknown>> | undefined;
  readonly retryAfterSeconds: number | undefined;

  constructor(code: ErrorCode, message: string, options: AppErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.fields = options.fields;
    this.extensions = options.extensions;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }
}

/**
 * Failures of the service itself rather than of the caller: logged as errors with their cause,
 * answered without their message.
 */
export const SERVER_FAULTS: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'internal',
  'storage-unavailable',
  'keys-unavailable',
  'config-invalid',
]);

export function isAppError(value: unknown, code?: ErrorCode): value is AppError {
  return value instanceof AppError && (code === undefined || value.code === code);
}

/** Wraps anything thrown into an AppError, keeping the original as `cause`. */
export function toAppError(value: unknown, fallback: ErrorCode = 'internal'): AppError {
  if (value instanceof AppError) return value;
  const message = value instanceof Error ? value.message : 'Unexpected failure';
  return new AppError(fallback, message, { cause: value });
}

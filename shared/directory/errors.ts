import { AppError, type ErrorCode } from '../errors.js';

/** The codes a directory failure can carry: what runs, checks and a tenant's status report. */
export const DIRECTORY_ERROR_CODES = [
  'directory-unreachable',
  'directory-timeout',
  'directory-throttled',
  'directory-credentials-invalid',
  'directory-credentials-expired',
  'directory-app-not-found',
  'directory-tenant-not-found',
  'directory-permission-missing',
  'group-not-found',
  'directory-malformed-answer',
] as const satisfies readonly ErrorCode[];

export type DirectoryErrorCode = (typeof DIRECTORY_ERROR_CODES)[number];

export function isDirectoryError(value: unknown): value is AppError & { readonly code: DirectoryErrorCode } {
  return value instanceof AppError && (DIRECTORY_ERROR_CODES as readonly ErrorCode[]).includes(value.code);
}

/** Who a message is about: the tenant's name where known, else its directory id. */
export interface DirectorySubject {
  readonly name?: string | undefined;
  readonly directoryId: string;
  readonly clientId?: string | undefined;
}

function who(subject: DirectorySubject): string {
  return subject.name === undefined ? `directory ${subject.directoryId}` : `tenant "${subject.name}"`;
}

/** What went wrong, in our own words (never text taken from the directory's answer). */
export type DirectoryFailure =
  | { readonly code: 'directory-unreachable'; readonly status?: number | undefined }
  | { readonly code: 'directory-timeout'; readonly seconds: number; readonly status?: number | undefined }
  | { readonly code: 'directory-throttled' }
  | { readonly code: 'directory-credentials-invalid'; readonly aadsts?: number | undefined }
  | { readonly code: 'directory-credentials-expired' }
  | { readonly code: 'directory-app-not-found' }
  | { readonly code: 'directory-tenant-not-found' }
  | { readonly code: 'directory-permission-missing' }
  | { readonly code: 'group-not-found'; readonly groupId: string }
  | { readonly code: 'directory-malformed-answer'; readonly problem: string };

function messageOf(failure: DirectoryFailure, subject: DirectorySubject): string {
  const tenant = who(subject);
  const app =
    subject.clientId === undefined ? 'its app registration' : `app registration ${subject.clientId}`;
  switch (failure.code) {
    case 'directory-unreachable':
      return failure.status === undefined
        ? `The directory of ${tenant} could not be reached. Check its authority host and Graph URL; if they are right, the directory is down and a later run will try again.`
        : `The directory of ${tenant} answered that it is unavailable (HTTP ${failure.status}). A later run will try again; if this persists, check the service health of the directory.`;
    case 'directory-timeout':
      return `The directory of ${tenant} did not answer within ${failure.seconds} seconds${failure.status === undefined ? '' : ` (HTTP ${failure.status})`}. A later run will try again; if this persists, check its authority host and Graph URL.`;
    case 'directory-throttled':
      return `Microsoft Graph kept throttling the requests for ${tenant} beyond the retry budget. A later run will try again; if this persists, sync fewer environments with this tenant at the same time.`;
    case 'directory-credentials-invalid':
      return `The directory refused the client secret of ${tenant}${failure.aadsts === undefined ? '' : ` (AADSTS${failure.aadsts})`}: create a new client secret in ${app} and save its value (not its id) here.`;
    case 'directory-credentials-expired':
      return `The client secret of ${tenant} has expired: create a new secret in ${app} and save it here.`;
    case 'directory-app-not-found':
      return `The directory of ${tenant} does not know ${app}: check the client id, and that the app is registered in directory ${subject.directoryId} or consented to there.`;
    case 'directory-tenant-not-found':
      return `Directory ${subject.directoryId} of ${tenant} does not exist at its authority host: check the directory (tenant) id and the authority host.`;
    case 'directory-permission-missing':
      return `${capitalize(app)} of ${tenant} may not read group members: grant it the Microsoft Graph application permission GroupMember.Read.All, with admin consent.`;
    case 'group-not-found':
      return `Group ${failure.groupId} was not found in the directory of ${tenant}: check the group id in the environment's settings (the group may have been deleted).`;
    case 'directory-malformed-answer':
      return `The directory of ${tenant} gave an answer that cannot be used: ${failure.problem}. Check its authority host and Graph URL.`;
  }
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

export function directoryError(
  failure: DirectoryFailure,
  subject: DirectorySubject,
  options: { cause?: unknown; retryAfterSeconds?: number } = {},
): AppError {
  return new AppError(failure.code, messageOf(failure, subject), options);
}

/** Entra's `error_codes` array (numbers) from a token or discovery error body; nothing else is read. */
export function aadstsCodes(body: unknown): readonly number[] {
  if (typeof body !== 'object' || body === null) return [];
  const codes = (body as { error_codes?: unknown }).error_codes;
  return Array.isArray(codes) ? codes.filter((c): c is number => Number.isInteger(c)) : [];
}

/**
 * A refusal by Entra's token or metadata endpoints, by its AADSTS code. Unknown refusals of the
 * client (any other 400/401) read as credentials the directory does not accept.
 */
export function fromEntraRefusal(status: number, body: unknown): DirectoryFailure {
  const codes = aadstsCodes(body);
  if (codes.includes(7000222)) return { code: 'directory-credentials-expired' };
  if (codes.includes(7000215)) return { code: 'directory-credentials-invalid' };
  if (codes.includes(700016)) return { code: 'directory-app-not-found' };
  if (codes.includes(90002)) return { code: 'directory-tenant-not-found' };
  if (status >= 500) return { code: 'directory-unreachable', status };
  if (status === 400 || status === 401) return { code: 'directory-credentials-invalid', aadsts: codes[0] };
  return {
    code: 'directory-malformed-answer',
    problem: `an unexpected HTTP ${status} from its sign-in host`,
  };
}

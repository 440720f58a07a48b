import { AppError } from '../errors.js';

/**
 * Continuation tokens as the API hands them out: the Tables SDK's own token (base64 of JSON naming
 * the next partition and row), wrapped in base64url so that it travels in a query string as is.
 */

interface TablesContinuation {
  nextPartitionKey?: string;
  nextRowKey?: string;
}

/** The API's token for the SDK's `continuationToken`. */
export function toApiContinuation(sdkToken: string): string {
  return Buffer.from(sdkToken, 'utf8').toString('base64url');
}

/** The SDK's token back from the API's; AppError 'validation' for a token we did not issue. */
export function fromApiContinuation(token: string): string {
  const decoded = Buffer.from(token, 'base64url').toString('utf8');
  try {
    const parsed = JSON.parse(Buffer.from(decoded, 'base64').toString('utf8')) as TablesContinuation;
    if (typeof parsed !== 'object' || parsed === null || typeof parsed.nextPartitionKey !== 'string') {
      throw new TypeError('not a continuation token');
    }
  } catch (error) {
    throw invalidContinuation(error);
  }
  return decoded;
}

/** The one answer to a continuation token that cannot be used. */
export function invalidContinuation(cause?: unknown): AppError {
  return new AppError('validation', 'The continuation token is not valid.', {
    fields: { continuationToken: 'is not valid' },
    ...(cause === undefined ? {} : { cause }),
  });
}

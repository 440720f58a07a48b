import { RestError } from '@azure/data-tables';
import { AppError } from '../errors.js';

/** The HTTP status of a failed storage request (404 not found, 409 exists, 412 ETag mismatch). */
export function statusOf(error: unknown): number | undefined {
  return error instanceof RestError ? error.statusCode : undefined;
}

/** A storage failure as the service reports it; an AppError raised inside passes through unchanged. */
export function storageError(message: string, error: unknown): AppError {
  if (error instanceof AppError) return error;
  return new AppError('storage-unavailable', message, { cause: error });
}

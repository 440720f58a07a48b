import { randomUUID } from 'node:crypto';
import { createHttpHeaders, createPipelineRequest } from '@azure/core-rest-pipeline';
import { RestError, type TableClient } from '@azure/data-tables';
import { TransactionBody, type BatchEntity, type BatchMode } from './batch-body.js';
import { statusOf, storageError } from './errors.js';
import { chunksOf, serviceErrorOf, sharedHttpClient } from './pipeline.js';

/**
 * Entity group transactions (`$batch`) written in one pass. The SDK's `submitTransaction` runs every
 * row through a full operation pipeline of its own (serializer, tracing span, URL template) only to
 * capture the text of its sub-request: at 100 rows a transaction that is most of a sync's CPU and
 * ~27 KB allocated per row. Here the body is built directly and sent once through the table
 * client's own pipeline (authentication, retries and any policy added to it).
 */

export type { BatchEntity, BatchMode } from './batch-body.js';

/** Azure Tables: a transaction holds at most 100 rows, all of one partition. */
export const MAX_BATCH_ROWS = 100;

function accountUrlOf(client: TableClient): string {
  return client.url.replace(/\/$/, '');
}

/**
 * A new, empty transaction body for rows of `client`'s table; in the buffer of `answered` (a body
 * `submitBody` sent) where given, for a writer whose transactions are too large to pool.
 */
export function transactionBody(
  client: TableClient,
  mode: BatchMode,
  answered?: TransactionBody,
): TransactionBody {
  const tableUrl = `${accountUrlOf(client)}/${client.tableName}`;
  return new TransactionBody(tableUrl, mode, randomUUID(), randomUUID(), answered?.handOver());
}

function errorOf(text: string): { message: string; code?: string } {
  return serviceErrorOf(text, 'Transaction failed');
}

const STATUS_LINE = Buffer.from('HTTP/1.1 ');

/** The three digits after a status line's start, or `undefined` where they are not digits. */
function statusAt(body: Buffer, at: number): number | undefined {
  let status = 0;
  for (let i = at; i < at + 3; i++) {
    const digit = (body[i] ?? 0) - 0x30;
    if (digit < 0 || digit > 9) return undefined;
    status = status * 10 + digit;
  }
  return status;
}

/** Whether `bytes` holds a status line that is not 2xx. */
function holdsFailure(bytes: Buffer): boolean {
  for (let at = bytes.indexOf(STATUS_LINE); at !== -1; at = bytes.indexOf(STATUS_LINE, at + 1)) {
    const status = statusAt(bytes, at + STATUS_LINE.length);
    if (status !== undefined && (status < 200 || status >= 300)) return true;
  }
  return false;
}

/** A status line with its three digits is 12 bytes: two chunks split one with at most 11 in each. */
const SPLIT = STATUS_LINE.length + 2;

/**
 * The first failed sub-response of a transaction's answer (as the chunks it arrived in), if any:
 * a failed changeset answers with the one sub-request that failed, a successful one with a 2xx
 * per row. Read as bytes where they arrived: only a failed answer is joined and made text.
 */
export function failedSubResponse(
  chunks: readonly Buffer[],
): { status: number; message: string; code?: string } | undefined {
  let seen = Buffer.alloc(0);
  const failed = chunks.some((chunk) => {
    const found = holdsFailure(chunk) || holdsFailure(Buffer.concat([seen, chunk.subarray(0, SPLIT)]));
    seen = Buffer.concat([seen, chunk.subarray(-SPLIT)]).subarray(-SPLIT);
    return found;
  });
  if (!failed) return undefined;
  const body = Buffer.concat(chunks);
  for (let at = body.indexOf(STATUS_LINE); at !== -1; at = body.indexOf(STATUS_LINE, at + 1)) {
    const status = statusAt(body, at + STATUS_LINE.length);
    if (status !== undefined && (status < 200 || status >= 300)) {
      return { status, ...errorOf(body.toString('utf8', at)) };
    }
  }
  return undefined;
}

/** A transaction's answer is 202 whether or not its changeset succeeded: its parts say which. */
const ANSWERED = new Set([202]);

/**
 * Sends one finished transaction: all or none. A failure is the storage SDK's `RestError` with
 * the failing status (409 when an inserted row exists).
 */
export async function submitBody(client: TableClient, body: TransactionBody): Promise<void> {
  if (body.rows === 0) {
    body.recycle();
    return;
  }
  const request = createPipelineRequest({
    url: `${accountUrlOf(client)}/$batch`,
    method: 'POST',
    body: body.end(),
    headers: createHttpHeaders({
      accept: 'application/json',
      'x-ms-version': '2019-02-02',
      DataServiceVersion: '3.0;',
      MaxDataServiceVersion: '3.0;NetFx',
      'Content-Type': `multipart/mixed; boundary=batch_${body.batchId}`,
    }),
    allowInsecureConnection: client.url.startsWith('http:'),
    streamResponseStatusCodes: ANSWERED,
  });
  const response = await client.pipeline.sendRequest(sharedHttpClient(), request);
  const answer = await chunksOf(response);
  const failed =
    response.status < 200 || response.status >= 300
      ? { status: response.status, ...errorOf(Buffer.concat(answer).toString('utf8')) }
      : failedSubResponse(answer);
  if (failed) {
    throw new RestError(failed.message, {
      statusCode: failed.status,
      ...(failed.code ? { code: failed.code } : {}),
      request,
      response,
    });
  }
  body.recycle();
}

/** Writes up to 100 rows of one partition as one transaction: all or none (see `submitBody`). */
export async function submitBatch<T extends BatchEntity<T>>(
  client: TableClient,
  mode: BatchMode,
  entities: readonly T[],
): Promise<void> {
  if (entities.length === 0) return;
  const body = transactionBody(client, mode);
  for (const entity of entities) body.add(entity, entities.length);
  await submitBody(client, body);
}

/**
 * Writes one transaction of rows: `insert` for rows the caller believes new (the cheaper write),
 * sent again as a merge where one of them exists after all; `merge` writes them as merges. Any
 * other failure is `failure`.
 */
export async function writeRows<T extends BatchEntity<T>>(
  client: TableClient,
  mode: BatchMode,
  entities: readonly T[],
  failure: string,
): Promise<void> {
  try {
    await submitBatch(client, mode, entities);
  } catch (error) {
    if (mode === 'insert' && statusOf(error) === 409) return writeRows(client, 'merge', entities, failure);
    throw storageError(failure, error);
  }
}

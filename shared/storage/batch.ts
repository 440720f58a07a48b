import { randomUUID } from 'node:crypto';
import {
  createDefaultHttpClient,
  createHttpHeaders,
  createPipelineRequest,
  type HttpClient,
} from '@azure/core-rest-pipeline';
import { RestError, type TableClient } from '@azure/data-tables';
import { statusOf, storageError } from './errors.js';

/**
 * Entity group transactions (`$batch`) written in one pass. The SDK's `submitTransaction` runs every
 * row through a full operation pipeline of its own (serializer, tracing span, URL template) only to
 * capture the text of its sub-request: at 100 rows a transaction that is most of a sync's CPU and
 * ~27 KB allocated per row. Here the body is built directly and sent once through the table
 * client's own pipeline (authentication, retries and any policy added to it).
 */

/**
 * - `insert`: create each row; the transaction fails with 409 when one exists.
 * - `merge`: upsert-merge each row (create it, or merge these properties into it).
 */
export type BatchMode = 'insert' | 'merge';

/**
 * A row as a transaction writes it. Only strings and booleans: both are typed by their JSON alone
 * (Edm.String, Edm.Boolean), so no `@odata.type` annotations are needed.
 */
export type BatchEntity<T> = { readonly partitionKey: string; readonly rowKey: string } & {
  readonly [K in keyof T]: string | boolean | undefined;
};

/** Azure Tables: a transaction holds at most 100 rows, all of one partition. */
export const MAX_BATCH_ROWS = 100;

const CRLF = '\r\n';

let httpClient: HttpClient | undefined;

function keyLiteral(value: string): string {
  return encodeURIComponent(`'${value.replaceAll("'", "''")}'`);
}

function rowJson<T>(entity: BatchEntity<T>): string {
  const { partitionKey, rowKey, ...properties } = entity;
  return JSON.stringify({ PartitionKey: partitionKey, RowKey: rowKey, ...properties });
}

function subRequest<T>(tableUrl: string, mode: BatchMode, entity: BatchEntity<T>): string {
  const startLine =
    mode === 'insert'
      ? `POST ${tableUrl} HTTP/1.1`
      : `PATCH ${tableUrl}(PartitionKey=${keyLiteral(entity.partitionKey)},RowKey=${keyLiteral(entity.rowKey)}) HTTP/1.1`;
  const prefer = mode === 'insert' ? `${CRLF}Prefer: return-no-content` : '';
  return (
    `content-type: application/http${CRLF}content-transfer-encoding: binary${CRLF}${CRLF}` +
    `${startLine}${CRLF}Content-Type: application/json${CRLF}Accept: application/json;odata=minimalmetadata` +
    `${CRLF}DataServiceVersion: 3.0${prefer}${CRLF}${CRLF}${rowJson(entity)}${CRLF}`
  );
}

/** The multipart body of one transaction: one changeset holding every row. */
export function batchBody<T>(
  tableUrl: string,
  mode: BatchMode,
  entities: readonly BatchEntity<T>[],
  batchId: string,
  changesetId: string,
): string {
  const parts: string[] = [
    `--batch_${batchId}${CRLF}content-type: multipart/mixed; boundary=changeset_${changesetId}${CRLF}${CRLF}`,
  ];
  for (const entity of entities)
    parts.push(`--changeset_${changesetId}${CRLF}${subRequest(tableUrl, mode, entity)}`);
  parts.push(`--changeset_${changesetId}--${CRLF}--batch_${batchId}--${CRLF}`);
  return parts.join('');
}

/** The service's error text of a failed sub-response (`odata.error`), when it gave one. */
function errorOf(text: string): { message: string; code?: string } {
  const json = /\{.*\}/s.exec(text)?.[0];
  if (json !== undefined) {
    try {
      const parsed = JSON.parse(json) as { 'odata.error'?: { code?: string; message?: { value?: string } } };
      const error = parsed['odata.error'];
      if (error)
        return {
          message: error.message?.value ?? 'Transaction failed',
          ...(error.code ? { code: error.code } : {}),
        };
    } catch {
      // Not JSON: the status alone says what failed.
      return { message: 'Transaction failed' };
    }
  }
  return { message: 'Transaction failed' };
}

/**
 * The first failed sub-response of a transaction's answer, if any (a failed changeset answers
 * with the one sub-request that failed; a successful one with a 2xx per row).
 */
export function failedSubResponse(
  body: string,
): { status: number; message: string; code?: string } | undefined {
  const statusLine = /HTTP\/1\.1 (\d{3})/g;
  for (let match = statusLine.exec(body); match !== null; match = statusLine.exec(body)) {
    const status = Number(match[1]);
    if (status < 200 || status >= 300) return { status, ...errorOf(body.slice(match.index)) };
  }
  return undefined;
}

/**
 * Writes up to 100 rows of one partition as one transaction: all or none. A failure is the
 * storage SDK's `RestError` with the failing status (409 when an inserted row exists).
 */
export async function submitBatch<T extends BatchEntity<T>>(
  client: TableClient,
  mode: BatchMode,
  entities: readonly T[],
): Promise<void> {
  if (entities.length === 0) return;
  const batchId = randomUUID();
  const tableUrl = `${client.url.replace(/\/$/, '')}/${client.tableName}`;
  const request = createPipelineRequest({
    url: `${client.url.replace(/\/$/, '')}/$batch`,
    method: 'POST',
    body: batchBody(tableUrl, mode, entities, batchId, randomUUID()),
    headers: createHttpHeaders({
      accept: 'application/json',
      'x-ms-version': '2019-02-02',
      DataServiceVersion: '3.0;',
      MaxDataServiceVersion: '3.0;NetFx',
      'Content-Type': `multipart/mixed; boundary=batch_${batchId}`,
    }),
    allowInsecureConnection: client.url.startsWith('http:'),
  });
  httpClient ??= createDefaultHttpClient();
  const response = await client.pipeline.sendRequest(httpClient, request);
  const body = response.bodyAsText ?? '';
  const failed =
    response.status < 200 || response.status >= 300
      ? { status: response.status, ...errorOf(body) }
      : failedSubResponse(body);
  if (failed) {
    throw new RestError(failed.message, {
      statusCode: failed.status,
      ...(failed.code ? { code: failed.code } : {}),
      request,
      response,
    });
  }
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

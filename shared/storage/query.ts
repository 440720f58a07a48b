import { createHttpHeaders, createPipelineRequest } from '@azure/core-rest-pipeline';
import { RestError, type TableClient } from '@azure/data-tables';
import { chunksOf, serviceErrorOf, sharedHttpClient } from './pipeline.js';

/**
 * Reads rows with the columns asked for, page by page, as the plain objects the service's JSON
 * makes. The SDK's `listEntities` runs every row through its generic deserializer (a mapper walk,
 * pattern matches per property, an entity object with metadata and a Date): reading an
 * environment's 100,000 access rows that way allocated about a gigabyte and most of a no-op run's
 * CPU. Sent through the table client's own pipeline (see pipeline.ts).
 */

/** A query of one table: an OData filter (made with `odata`) and the columns to return. */
export interface RowQuery {
  readonly filter: string;
  readonly select: readonly string[];
}

/** A row as the service returns it without metadata: key columns by their REST names. */
export type QueriedRow = Readonly<Record<string, unknown>>;

const PAGE_SIZE = 1000;

const PAGE_STATUS = new Set([200]);

interface Continuation {
  readonly nextPartitionKey: string;
  readonly nextRowKey: string | undefined;
}

async function queryPage(
  client: TableClient,
  query: RowQuery,
  continuation: Continuation | undefined,
): Promise<{ rows: unknown[]; next: Continuation | undefined }> {
  const url = new URL(client.url);
  url.pathname = `${url.pathname.replace(/\/$/, '')}/${client.tableName}()`;
  url.searchParams.set('$filter', query.filter);
  url.searchParams.set('$select', query.select.join(','));
  url.searchParams.set('$top', String(PAGE_SIZE));
  if (continuation) {
    url.searchParams.set('NextPartitionKey', continuation.nextPartitionKey);
    if (continuation.nextRowKey !== undefined) url.searchParams.set('NextRowKey', continuation.nextRowKey);
  }
  const request = createPipelineRequest({
    url: url.toString(),
    method: 'GET',
    headers: createHttpHeaders({
      accept: 'application/json;odata=nometadata',
      'x-ms-version': '2019-02-02',
      DataServiceVersion: '3.0;',
      MaxDataServiceVersion: '3.0;NetFx',
    }),
    allowInsecureConnection: url.protocol === 'http:',
    // A page comes back as a stream, read and parsed once here: otherwise the pipeline would
    // decode it to text and its deserialization policy parse it before this code does.
    streamResponseStatusCodes: PAGE_STATUS,
  });
  const response = await client.pipeline.sendRequest(sharedHttpClient(), request);
  if (response.status !== 200) {
    const { message, code } = serviceErrorOf(response.bodyAsText ?? '', 'Request failed');
    throw new RestError(message, {
      statusCode: response.status,
      ...(code ? { code } : {}),
      request,
      response,
    });
  }
  const text = Buffer.concat(await chunksOf(response)).toString('utf8');
  const parsed = JSON.parse(text) as { value?: unknown };
  const nextPartitionKey = response.headers.get('x-ms-continuation-nextpartitionkey');
  return {
    rows: Array.isArray(parsed.value) ? parsed.value : [],
    next:
      nextPartitionKey === undefined
        ? undefined
        : { nextPartitionKey, nextRowKey: response.headers.get('x-ms-continuation-nextrowkey') },
  };
}

/**
 * Visits every row the query selects, one page in memory at a time. A failure is the storage
 * SDK's `RestError` with the service's status, as its own operations raise it.
 */
export async function forEachRow(
  client: TableClient,
  query: RowQuery,
  visit: (row: QueriedRow) => void,
): Promise<void> {
  let continuation: Continuation | undefined;
  do continuation = await visitPage(client, query, continuation, visit);
  while (continuation !== undefined);
}

/**
 * One page, visited. Its rows as parsed live only in this call: held across the next request,
 * while other reads allocate, they would be promoted to the old generation, a page each time.
 */
async function visitPage(
  client: TableClient,
  query: RowQuery,
  continuation: Continuation | undefined,
  visit: (row: QueriedRow) => void,
): Promise<Continuation | undefined> {
  const { rows, next } = await queryPage(client, query, continuation);
  for (const row of rows) if (typeof row === 'object' && row !== null) visit(row as QueriedRow);
  return next;
}

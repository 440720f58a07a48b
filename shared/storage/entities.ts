import type { GetTableEntityResponse, TableClient, TableEntity, TableEntityResult } from '@azure/data-tables';
import { statusOf, storageError } from './errors.js';

/** The entity at the keys, or `undefined` where there is none; any other failure is `failure`. */
export async function getEntityOrNone<T extends object>(
  client: TableClient,
  partitionKey: string,
  rowKey: string,
  failure: string,
): Promise<GetTableEntityResponse<TableEntityResult<T>> | undefined> {
  try {
    return await client.getEntity<T>(partitionKey, rowKey);
  } catch (error) {
    if (statusOf(error) === 404) return undefined;
    throw storageError(failure, error);
  }
}

/**
 * Optimistic write: replaces the entity if it still has the etag `existing` was read with, or
 * inserts it where nothing was read. False when another writer came first (the caller reads
 * again and retries); any other failure is `failure`.
 */
export async function writeIfUnchanged<T extends object>(
  client: TableClient,
  entity: TableEntity<T>,
  existing: { readonly etag: string } | undefined,
  failure: string,
): Promise<boolean> {
  try {
    if (existing) await client.updateEntity(entity, 'Replace', { etag: existing.etag });
    else await client.createEntity(entity);
    return true;
  } catch (error) {
    const status = statusOf(error);
    if (status === 409 || status === 412) return false;
    throw storageError(failure, error);
  }
}

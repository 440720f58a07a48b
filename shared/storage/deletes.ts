import type { TableClient } from '@azure/data-tables';
import { statusOf, storageError } from './errors.js';

/**
 * Deletes the entity at the keys; one that is already gone counts as deleted, since whoever
 * removed it wanted the same. Any other failure is `failure`.
 */
export async function deleteEntityIfPresent(
  client: TableClient,
  partitionKey: string,
  rowKey: string,
  failure: string,
): Promise<void> {
  try {
    await client.deleteEntity(partitionKey, rowKey);
  } catch (error) {
    if (statusOf(error) === 404) return;
    throw storageError(failure, error);
  }
}

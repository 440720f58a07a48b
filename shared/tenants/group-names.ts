import { odata, type TableClient, type TableEntity } from '@azure/data-tables';
import type { StorageAccount } from '../storage/account.js';
import { storageError } from '../storage/errors.js';

/**
 * The display names of groups as last read from their directory by a run or a check, so that
 * settings show names and not ids alone. Table `groupnames`: PartitionKey = directory id
 * (lower case), RowKey = group id (lower case).
 */
export const GROUP_NAMES_TABLE = 'groupnames';

export interface GroupName {
  readonly id: string;
  readonly displayName: string;
}

interface GroupNameEntity extends TableEntity {
  displayName: string;
  readAt: string;
}

export interface GroupNames {
  /** The known names of the directory's groups, by lower-case id. */
  read(directoryId: string): Promise<Map<string, string>>;
  /** Stores the names read; only those that changed are written. */
  record(directoryId: string, groups: readonly GroupName[], at: Date): Promise<void>;
}

export function createGroupNames(storage: StorageAccount): GroupNames {
  const table = (): Promise<TableClient> => storage.table(GROUP_NAMES_TABLE);

  async function read(directoryId: string): Promise<Map<string, string>> {
    const client = await table();
    const names = new Map<string, string>();
    try {
      const entities = client.listEntities<GroupNameEntity>({
        queryOptions: {
          filter: odata`PartitionKey eq ${directoryId.toLowerCase()}`,
          select: ['RowKey', 'displayName'],
        },
      });
      for await (const entity of entities) names.set(entity.rowKey, entity.displayName);
    } catch (error) {
      throw storageError('Group names could not be read.', error);
    }
    return names;
  }

  return {
    read,
    async record(directoryId, groups, at) {
      const known = await read(directoryId);
      const changed = groups.filter((group) => known.get(group.id.toLowerCase()) !== group.displayName);
      if (changed.length === 0) return;
      const client = await table();
      try {
        for (const group of changed) {
          await client.upsertEntity<GroupNameEntity>(
            {
              partitionKey: directoryId.toLowerCase(),
              rowKey: group.id.toLowerCase(),
              displayName: group.displayName,
              readAt: at.toISOString(),
            },
            'Replace',
          );
        }
      } catch (error) {
        throw storageError('Group names could not be stored.', error);
      }
    },
  };
}

import { odata, type TableClient, type TableEntity } from '@azure/data-tables';
import type { Clock } from '../clock.js';
import { AppError } from '../errors.js';
import type { StorageAccount } from '../storage/account.js';
import { getEntityOrNone, writeIfUnchanged } from '../storage/entities.js';

/**
 * Environments and their external users settings. All environments share one partition so that
 * the periodic timer reads them with a single partition query.
 */
export const ENVIRONMENTS_TABLE = 'environments';
const PARTITION = 'environment';

export interface ExternalUsersSettings {
  readonly tenant: string;
  /** Normalized: lower-case GUIDs, no duplicates, at least one. */
  readonly groupsToSync: readonly string[];
  readonly defaultMenus: readonly string[];
  readonly periodicSync: boolean;
  readonly deactivationLimit: number;
  /** Who is mailed when a run fails or halts (at most 5); absent: nobody. */
  readonly notificationEmails?: readonly string[];
}

export interface EnvironmentRecord {
  readonly id: string;
  readonly name: string;
  readonly externalUsersIntegration: boolean;
  readonly externalUsers: ExternalUsersSettings | undefined;
}

export interface SaveEnvironmentInput {
  readonly id: string;
  readonly name: string;
  readonly externalUsersIntegration: boolean;
}

export interface SaveEnvironmentResult {
  readonly environment: EnvironmentRecord;
  readonly previous: EnvironmentRecord | undefined;
  readonly created: boolean;
}

export interface SaveSettingsResult {
  readonly environment: EnvironmentRecord;
  readonly previous: ExternalUsersSettings | undefined;
}

interface EnvironmentEntity extends TableEntity {
  name: string;
  externalUsersIntegration: boolean;
  /** The settings' fields; `tenant` absent means not configured. */
  tenant?: string;
  groupsToSync?: string;
  defaultMenus?: string;
  periodicSync?: boolean;
  deactivationLimit?: number;
  /** JSON array of addresses. */
  notificationEmails?: string;
  createdAt: string;
  updatedAt: string;
}

/** A JSON array of strings (menus, addresses). */
function parseMenus(value: unknown): string[] {
  if (typeof value !== 'string' || value === '') return [];
  const parsed: unknown = JSON.parse(value);
  return Array.isArray(parsed) ? parsed.filter((item): item is string => typeof item === 'string') : [];
}

function fromEnvironmentEntity(entity: EnvironmentEntity): EnvironmentRecord {
  const configured = typeof entity.tenant === 'string' && entity.tenant !== '';
  return Object.freeze({
    id: entity.rowKey,
    name: entity.name,
    externalUsersIntegration: entity.externalUsersIntegration === true,
    externalUsers: configured
      ? Object.freeze({
          tenant: entity.tenant!,
          groupsToSync: Object.freeze((entity.groupsToSync ?? '').split(',').filter((id) => id !== '')),
          defaultMenus: Object.freeze(parseMenus(entity.defaultMenus)),
          periodicSync: entity.periodicSync === true,
          deactivationLimit: typeof entity.deactivationLimit === 'number' ? entity.deactivationLimit : 50,
          notificationEmails: Object.freeze(parseMenus(entity.notificationEmails)),
        })
      : undefined,
  });
}

function toSettingsProperties(settings: ExternalUsersSettings): Partial<EnvironmentEntity> {
  return {
    tenant: settings.tenant,
    groupsToSync: settings.groupsToSync.join(','),
    defaultMenus: JSON.stringify([...settings.defaultMenus]),
    periodicSync: settings.periodicSync,
    deactivationLimit: settings.deactivationLimit,
    notificationEmails: JSON.stringify([...(settings.notificationEmails ?? [])]),
  };
}

export interface EnvironmentsRepository {
  get(id: string): Promise<EnvironmentRecord | undefined>;
  /** Every environment, from one partition query, page by page. */
  list(): AsyncIterable<EnvironmentRecord>;
  /** Ids of the environments whose settings use `tenant`. */
  findUsingTenant(tenant: string): Promise<string[]>;
  /** Creates an environment or changes its name / integration switch; its settings are kept. */
  save(input: SaveEnvironmentInput): Promise<SaveEnvironmentResult>;
  /**
   * Stores an environment's external users settings as given (already validated and normalized);
   * AppError 'not-found' when the environment does not exist.
   */
  saveSettings(environmentId: string, settings: ExternalUsersSettings): Promise<SaveSettingsResult>;
}

type StoredEntity = EnvironmentEntity & { etag: string };

/** The entity as it is written back: the read's etag and timestamp are not properties. */
function writable(entity: EnvironmentEntity): EnvironmentEntity {
  const rest: Partial<StoredEntity & { timestamp: string }> = { ...entity };
  delete rest.etag;
  delete rest.timestamp;
  return rest as EnvironmentEntity;
}

// Long only as a factory: its body is the short functions below, closed over the deps.
export function createEnvironmentsRepository(deps: {
  storage: StorageAccount;
  clock: Clock;
}): EnvironmentsRepository {
  const table = (): Promise<TableClient> => deps.storage.table(ENVIRONMENTS_TABLE);

  async function readEntity(id: string): Promise<StoredEntity | undefined> {
    return getEntityOrNone<EnvironmentEntity>(
      await table(),
      PARTITION,
      id,
      'Environments could not be read.',
    );
  }

  /** Writes with the etag of `existing` (or insert-only); false when another writer won the race. */
  async function write(
    entity: EnvironmentEntity,
    existing: StoredEntity | undefined,
    what: string,
  ): Promise<boolean> {
    return writeIfUnchanged(await table(), entity, existing, `The ${what} could not be stored.`);
  }

  return {
    async get(id) {
      const entity = await readEntity(id);
      return entity && fromEnvironmentEntity(entity);
    },

    async *list() {
      const client = await table();
      const entities = client.listEntities<EnvironmentEntity>({
        queryOptions: { filter: odata`PartitionKey eq ${PARTITION}` },
      });
      try {
        for await (const entity of entities) yield fromEnvironmentEntity(entity);
      } catch (error) {
        throw new AppError('storage-unavailable', 'Environments could not be listed.', { cause: error });
      }
    },

    async findUsingTenant(tenant) {
      const client = await table();
      const ids: string[] = [];
      try {
        const entities = client.listEntities<EnvironmentEntity>({
          queryOptions: {
            filter: odata`PartitionKey eq ${PARTITION} and tenant eq ${tenant}`,
            select: ['RowKey'],
          },
        });
        for await (const entity of entities) ids.push(entity.rowKey);
      } catch (error) {
        throw new AppError('storage-unavailable', 'Environments could not be listed.', { cause: error });
      }
      return ids;
    },

    async save(input) {
      for (let attempt = 0; attempt < 3; attempt++) {
        const existing = await readEntity(input.id);
        const now = deps.clock.now().toISOString();
        const entity: EnvironmentEntity = writable({
          ...(existing ?? {}),
          partitionKey: PARTITION,
          rowKey: input.id,
          name: input.name,
          externalUsersIntegration: input.externalUsersIntegration,
          createdAt: existing?.createdAt ?? now,
          updatedAt: now,
        });
        if (!(await write(entity, existing, 'environment'))) continue;
        return {
          environment: fromEnvironmentEntity(entity),
          previous: existing && fromEnvironmentEntity(existing),
          created: !existing,
        };
      }
      throw new AppError('conflict', 'The environment was changed concurrently; try again.');
    },

    async saveSettings(environmentId, settings) {
      for (let attempt = 0; attempt < 3; attempt++) {
        const existing = await readEntity(environmentId);
        if (!existing) throw new AppError('not-found', `Environment "${environmentId}" does not exist.`);
        const entity: EnvironmentEntity = {
          partitionKey: PARTITION,
          rowKey: environmentId,
          name: existing.name,
          externalUsersIntegration: existing.externalUsersIntegration,
          createdAt: existing.createdAt,
          updatedAt: deps.clock.now().toISOString(),
          ...toSettingsProperties(settings),
        };
        if (!(await write(entity, existing, 'settings'))) continue;
        return {
          environment: fromEnvironmentEntity(entity),
          previous: fromEnvironmentEntity(existing).externalUsers,
        };
      }
      throw new AppError('conflict', 'The environment was changed concurrently; try again.');
    },
  };
}

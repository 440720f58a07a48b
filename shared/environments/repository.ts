import { odata, RestError, type TableClient, type TableEntity } from '@azure/data-tables';
import { clock } from '../clock.js';
import { AppError } from '../errors.js';
import { storage } from '../storage/account.js';

/**
 * Environments and their external users settings. All environments share one
 * partition so that the periodic timer reads them with a single partition query.
 *
 * Other teams' tests create environments directly with `saveEnvironment` and
 * `saveExternalUsersSettings`.
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
  createdAt: string;
  updatedAt: string;
}

function statusOf(error: unknown): number | undefined {
  return error instanceof RestError ? error.statusCode : undefined;
}

async function table(): Promise<TableClient> {
  return storage().table(ENVIRONMENTS_TABLE);
}

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
  };
}

async function readEntity(id: string): Promise<(EnvironmentEntity & { etag: string }) | undefined> {
  const client = await table();
  try {
    return await client.getEntity<EnvironmentEntity>(PARTITION, id);
  } catch (error) {
    if (statusOf(error) === 404) return undefined;
    throw new AppError('storage-unavailable', 'Environments could not be read.', { cause: error });
  }
}

export async function getEnvironment(id: string): Promise<EnvironmentRecord | undefined> {
  const entity = await readEntity(id);
  return entity && fromEnvironmentEntity(entity);
}

/** Every environment, from one partition query, page by page. */
export async function* listEnvironments(): AsyncIterable<EnvironmentRecord> {
  const client = await table();
  const entities = client.listEntities<EnvironmentEntity>({
    queryOptions: { filter: odata`PartitionKey eq ${PARTITION}` },
  });
  try {
    for await (const entity of entities) yield fromEnvironmentEntity(entity);
  } catch (error) {
    throw new AppError('storage-unavailable', 'Environments could not be listed.', { cause: error });
  }
}

/** Ids of the environments whose settings use `tenant`. */
export async function findEnvironmentsUsingTenant(tenant: string): Promise<string[]> {
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
}

/** Creates an environment or changes its name / integration switch; its settings are kept. */
export async function saveEnvironment(input: SaveEnvironmentInput): Promise<SaveEnvironmentResult> {
  const client = await table();
  for (let attempt = 0; attempt < 3; attempt++) {
    const existing = await readEntity(input.id);
    const now = clock().now().toISOString();
    const entity: EnvironmentEntity = {
      ...(existing ?? {}),
      partitionKey: PARTITION,
      rowKey: input.id,
      name: input.name,
      externalUsersIntegration: input.externalUsersIntegration,
      createdAt: existing?.createdAt ?? now,
      updatedAt: now,
    };
    delete (entity as Partial<TableEntity & { etag: string; timestamp: string }>).etag;
    delete (entity as Partial<TableEntity & { timestamp: string }>).timestamp;
    try {
      if (existing) await client.updateEntity(entity, 'Replace', { etag: existing.etag });
      else await client.createEntity(entity);
    } catch (error) {
      const status = statusOf(error);
      if (status === 409 || status === 412) continue;
      throw new AppError('storage-unavailable', 'The environment could not be stored.', { cause: error });
    }
    return {
      environment: fromEnvironmentEntity(entity),
      previous: existing && fromEnvironmentEntity(existing),
      created: !existing,
    };
  }
  throw new AppError('conflict', 'The environment was changed concurrently; try again.');
}

/**
 * Stores an environment's external users settings as given (already validated and normalized);
 * AppError 'not-found' when the environment does not exist.
 */
export async function saveExternalUsersSettings(
  environmentId: string,
  settings: ExternalUsersSettings,
): Promise<SaveSettingsResult> {
  const client = await table();
  for (let attempt = 0; attempt < 3; attempt++) {
    const existing = await readEntity(environmentId);
    if (!existing) throw new AppError('not-found', `Environment "${environmentId}" does not exist.`);
    const entity: EnvironmentEntity = {
      partitionKey: PARTITION,
      rowKey: environmentId,
      name: existing.name,
      externalUsersIntegration: existing.externalUsersIntegration,
      createdAt: existing.createdAt,
      updatedAt: clock().now().toISOString(),
      ...toSettingsProperties(settings),
    };
    try {
      await client.updateEntity(entity, 'Replace', { etag: existing.etag });
    } catch (error) {
      if (statusOf(error) === 412) continue;
      throw new AppError('storage-unavailable', 'The settings could not be stored.', { cause: error });
    }
    return {
      environment: fromEnvironmentEntity(entity),
      previous: fromEnvironmentEntity(existing).externalUsers,
    };
  }
  throw new AppError('conflict', 'The environment was changed concurrently; try again.');
}

import { odata, type TableClient, type TableEntity } from '@azure/data-tables';
import type { StorageAccount } from '../storage/account.js';
import { deleteEntityIfPresent } from '../storage/deletes.js';
import { getEntityOrNone } from '../storage/entities.js';
import { storageError } from '../storage/errors.js';

/**
 * A tenant's health as its last run or check found it. Kept apart from the tenant's configuration
 * so that a run recording it never races an owner saving the tenant. Table `tenanthealth`:
 * PartitionKey = `tenant`, RowKey = tenant name.
 */
export const TENANT_HEALTH_TABLE = 'tenanthealth';
const PARTITION = 'tenant';

export interface TenantStatus {
  readonly state: 'ok' | 'failing' | 'unknown';
  readonly checkedAt?: string;
  readonly error?: { readonly code: string; readonly message: string };
}

/** How old a run lets an unchanged status's `checkedAt` grow before writing it again. */
export const HEALTH_REFRESH_MS = 60 * 60 * 1000;

/** Pure: whether a run's observation adds nothing to the stored status. */
export function isSameHealth(stored: TenantStatus, observation: HealthObservation, at: Date): boolean {
  const state = observation.ok ? 'ok' : 'failing';
  const code = observation.ok ? undefined : observation.code;
  if (stored.state !== state || stored.error?.code !== code || stored.checkedAt === undefined) return false;
  return at.getTime() - Date.parse(stored.checkedAt) < HEALTH_REFRESH_MS;
}

export const UNKNOWN_STATUS: TenantStatus = Object.freeze({ state: 'unknown' });

/** What a run or a check found: the directory answered, or it failed with this error. */
export type HealthObservation =
  { readonly ok: true } | { readonly ok: false; readonly code: string; readonly message: string };

interface HealthEntity extends TableEntity {
  state: string;
  checkedAt: string;
  errorCode?: string;
  errorMessage?: string;
}

function fromHealthEntity(entity: HealthEntity): TenantStatus {
  return {
    state: entity.state === 'ok' || entity.state === 'failing' ? entity.state : 'unknown',
    checkedAt: entity.checkedAt,
    ...(entity.errorCode ? { error: { code: entity.errorCode, message: entity.errorMessage ?? '' } } : {}),
  };
}

export interface TenantHealth {
  get(name: string): Promise<TenantStatus>;
  /** Every tenant's status that is known, by name. */
  list(): Promise<Map<string, TenantStatus>>;
  /**
   * Stores what was found. `whenChanged` (runs) skips the write while the state and error code are
   * as stored and the stored time is less than an hour old, so a run without changes stays a run
   * without writes beyond its bookkeeping; a check always stores its time.
   */
  record(
    name: string,
    observation: HealthObservation,
    at: Date,
    options?: { readonly whenChanged?: boolean },
  ): Promise<void>;
  /** A deleted tenant's status must not greet a new tenant of the same name. */
  forget(name: string): Promise<void>;
}

export function createTenantHealth(storage: StorageAccount): TenantHealth {
  const table = (): Promise<TableClient> => storage.table(TENANT_HEALTH_TABLE);
  async function get(name: string): Promise<TenantStatus> {
    const client = await table();
    const entity = await getEntityOrNone<HealthEntity>(
      client,
      PARTITION,
      name,
      'Tenant health could not be read.',
    );
    return entity ? fromHealthEntity(entity) : UNKNOWN_STATUS;
  }

  return {
    get,
    async list() {
      const client = await table();
      const found = new Map<string, TenantStatus>();
      try {
        const entities = client.listEntities<HealthEntity>({
          queryOptions: { filter: odata`PartitionKey eq ${PARTITION}` },
        });
        for await (const entity of entities) found.set(entity.rowKey, fromHealthEntity(entity));
      } catch (error) {
        throw storageError('Tenant health could not be listed.', error);
      }
      return found;
    },
    async record(name, observation, at, options = {}) {
      if (options.whenChanged === true && isSameHealth(await get(name), observation, at)) return;
      const client = await table();
      const entity: HealthEntity = {
        partitionKey: PARTITION,
        rowKey: name,
        state: observation.ok ? 'ok' : 'failing',
        checkedAt: at.toISOString(),
        errorCode: observation.ok ? '' : observation.code,
        errorMessage: observation.ok ? '' : observation.message,
      };
      try {
        await client.upsertEntity(entity, 'Replace');
      } catch (error) {
        throw storageError('Tenant health could not be stored.', error);
      }
    },
    async forget(name) {
      await deleteEntityIfPresent(await table(), PARTITION, name, 'Tenant health could not be removed.');
    },
  };
}

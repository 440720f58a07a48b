import { odata, type TableClient, type TableEntity } from '@azure/data-tables';
import type { Clock } from '../clock.js';
import type { SecretsKey } from '../config.js';
import { AppError } from '../errors.js';
import { openSecret, sealSecret } from '../secrets/cipher.js';
import type { StorageAccount } from '../storage/account.js';
import { statusOf } from '../storage/errors.js';

/**
 * Tenant configurations: one Entra tenant's app registration, its owner and the environments
 * allowed to use it. The client secret is stored sealed (AES-256-GCM, bound to the tenant name)
 * and only `getConnection` ever decrypts it.
 */
export const TENANTS_TABLE = 'tenants';
const PARTITION = 'tenant';

export const DEFAULT_AUTHORITY_HOST = 'https://login.microsoftonline.com';
export const DEFAULT_GRAPH_BASE_URL = 'https://graph.microsoft.com';

/** A tenant as the API shows it: never the secret. */
export interface TenantRecord {
  readonly name: string;
  readonly owner: string;
  readonly directoryId: string;
  readonly clientId: string;
  readonly hasClientSecret: boolean;
  readonly environments: readonly string[];
  readonly authorityHost: string;
  readonly graphBaseUrl: string;
  readonly createdAt: string;
  readonly updatedAt: string;
  /** The stored row's version: a change replaces exactly this row or nothing. */
  readonly etag?: string | undefined;
}

/** What the sync and sign-in need to talk to the directory, secret decrypted. */
export interface TenantConnection {
  readonly name: string;
  readonly directoryId: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly authorityHost: string;
  readonly graphBaseUrl: string;
  readonly environments: readonly string[];
}

export interface SaveTenantInput {
  readonly name: string;
  readonly owner: string;
  readonly directoryId: string;
  readonly clientId: string;
  /** Required when creating; when updating, absent keeps the stored secret. */
  readonly clientSecret?: string | undefined;
  readonly environments: readonly string[];
  readonly authorityHost?: string | undefined;
  readonly graphBaseUrl?: string | undefined;
}

export interface SaveTenantResult {
  readonly tenant: TenantRecord;
  readonly previous: TenantRecord | undefined;
  readonly created: boolean;
  readonly secretChanged: boolean;
}

interface TenantEntity extends TableEntity {
  owner: string;
  directoryId: string;
  clientId: string;
  /** `v1.<keyId>.<nonce>.<ciphertext>.<tag>` (see shared/secrets/cipher.ts). */
  sealedClientSecret: string;
  environments: string;
  authorityHost: string;
  graphBaseUrl: string;
  createdAt: string;
  updatedAt: string;
}

/** Additional authenticated data: a sealed secret only opens on the tenant it was written for. */
function secretBinding(name: string): string {
  return `tenant:${name}`;
}

function parseList(value: unknown): string[] {
  if (typeof value !== 'string' || value === '') return [];
  const parsed: unknown = JSON.parse(value);
  return Array.isArray(parsed) ? parsed.filter((item): item is string => typeof item === 'string') : [];
}

function fromTenantEntity(entity: TenantEntity, etag?: string): TenantRecord {
  return Object.freeze({
    name: entity.rowKey,
    owner: entity.owner,
    directoryId: entity.directoryId,
    clientId: entity.clientId,
    hasClientSecret: typeof entity.sealedClientSecret === 'string' && entity.sealedClientSecret !== '',
    environments: Object.freeze(parseList(entity.environments)),
    authorityHost: entity.authorityHost,
    graphBaseUrl: entity.graphBaseUrl,
    createdAt: entity.createdAt,
    updatedAt: entity.updatedAt,
    etag: etag ?? (typeof entity.etag === 'string' ? entity.etag : undefined),
  });
}

export interface TenantsRepository {
  get(name: string): Promise<TenantRecord | undefined>;
  /** The tenant with its client secret decrypted, for talking to its directory. */
  getConnection(name: string): Promise<TenantConnection | undefined>;
  /** Every tenant, or only those of `owner`, by name. */
  list(owner?: string): Promise<TenantRecord[]>;
  /** Insert-only: AppError 'conflict' when a tenant of that name exists, whoever created it. */
  create(input: SaveTenantInput): Promise<SaveTenantResult>;
  /**
   * Replaces exactly the row `previous` was read from (its ETag); 'stale' when it has changed or
   * gone since, so the caller decides again (and checks ownership again) against the fresh row.
   */
  replace(input: SaveTenantInput, previous: TenantRecord): Promise<SaveTenantResult | 'stale'>;
  /**
   * Creates or replaces whatever is stored, for seeding and tests: it checks no ownership, and
   * the API never uses it.
   */
  save(input: SaveTenantInput): Promise<SaveTenantResult>;
  /** False when there was none. */
  delete(name: string): Promise<boolean>;
}

export interface TenantsRepositoryDeps {
  readonly storage: StorageAccount;
  readonly clock: Clock;
  readonly secretsKeys: readonly SecretsKey[];
}

// Long only as a factory: its body is the short functions below, closed over the deps.
export function createTenantsRepository(deps: TenantsRepositoryDeps): TenantsRepository {
  const table = (): Promise<TableClient> => deps.storage.table(TENANTS_TABLE);

  async function readEntity(name: string): Promise<(TenantEntity & { etag: string }) | undefined> {
    const client = await table();
    try {
      return await client.getEntity<TenantEntity>(PARTITION, name);
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw new AppError('storage-unavailable', 'Tenants could not be read.', { cause: error });
    }
  }

  function toEntity(input: SaveTenantInput, existing: TenantEntity | undefined, now: string): TenantEntity {
    const sealedClientSecret =
      input.clientSecret === undefined
        ? existing!.sealedClientSecret
        : sealSecret(input.clientSecret, secretBinding(input.name), deps.secretsKeys);
    return {
      partitionKey: PARTITION,
      rowKey: input.name,
      owner: input.owner,
      directoryId: input.directoryId,
      clientId: input.clientId,
      sealedClientSecret,
      environments: JSON.stringify([...input.environments]),
      authorityHost: input.authorityHost ?? DEFAULT_AUTHORITY_HOST,
      graphBaseUrl: input.graphBaseUrl ?? DEFAULT_GRAPH_BASE_URL,
      createdAt: existing?.createdAt ?? now,
      updatedAt: now,
    };
  }

  return {
    async get(name) {
      const entity = await readEntity(name);
      return entity && fromTenantEntity(entity);
    },

    async getConnection(name) {
      const entity = await readEntity(name);
      if (!entity) return undefined;
      return Object.freeze({
        name: entity.rowKey,
        directoryId: entity.directoryId,
        clientId: entity.clientId,
        clientSecret: openSecret(entity.sealedClientSecret, secretBinding(entity.rowKey), deps.secretsKeys),
        authorityHost: entity.authorityHost,
        graphBaseUrl: entity.graphBaseUrl,
        environments: Object.freeze(parseList(entity.environments)),
      });
    },

    async list(owner) {
      const client = await table();
      const filter =
        owner === undefined
          ? odata`PartitionKey eq ${PARTITION}`
          : odata`PartitionKey eq ${PARTITION} and owner eq ${owner}`;
      const tenants: TenantRecord[] = [];
      try {
        for await (const entity of client.listEntities<TenantEntity>({ queryOptions: { filter } })) {
          tenants.push(fromTenantEntity(entity));
        }
      } catch (error) {
        throw new AppError('storage-unavailable', 'Tenants could not be listed.', { cause: error });
      }
      return tenants.sort((a, b) => a.name.localeCompare(b.name));
    },

    async create(input) {
      if (input.clientSecret === undefined) {
        throw new AppError('validation', 'The request is not valid.', {
          fields: { clientSecret: 'is required when creating a tenant' },
        });
      }
      const client = await table();
      const entity = toEntity(input, undefined, deps.clock.now().toISOString());
      let etag: string | undefined;
      try {
        ({ etag } = await client.createEntity(entity));
      } catch (error) {
        if (statusOf(error) === 409) {
          throw new AppError('conflict', `A tenant named "${input.name}" already exists.`, { cause: error });
        }
        throw new AppError('storage-unavailable', 'The tenant could not be stored.', { cause: error });
      }
      return {
        tenant: fromTenantEntity(entity, etag),
        previous: undefined,
        created: true,
        secretChanged: true,
      };
    },

    async replace(input, previous) {
      if (previous.etag === undefined) return 'stale';
      const stored = await readEntity(input.name);
      if (stored?.etag !== previous.etag) return 'stale';
      const client = await table();
      const entity = toEntity(input, stored, deps.clock.now().toISOString());
      let etag: string | undefined;
      try {
        ({ etag } = await client.updateEntity(entity, 'Replace', { etag: previous.etag }));
      } catch (error) {
        const status = statusOf(error);
        if (status === 412 || status === 404) return 'stale';
        throw new AppError('storage-unavailable', 'The tenant could not be stored.', { cause: error });
      }
      return {
        tenant: fromTenantEntity(entity, etag),
        previous: fromTenantEntity(stored),
        created: false,
        secretChanged: input.clientSecret !== undefined,
      };
    },

    async save(input) {
      for (let attempt = 0; attempt < 3; attempt++) {
        const existing = await this.get(input.name);
        if (!existing) {
          try {
            return await this.create(input);
          } catch (error) {
            if (error instanceof AppError && error.code === 'conflict') continue;
            throw error;
          }
        }
        const result = await this.replace(input, existing);
        if (result !== 'stale') return result;
      }
      throw new AppError('conflict', 'The tenant was changed concurrently; try again.');
    },

    async delete(name) {
      const client = await table();
      try {
        await client.deleteEntity(PARTITION, name);
        return true;
      } catch (error) {
        if (statusOf(error) === 404) return false;
        throw new AppError('storage-unavailable', 'The tenant could not be deleted.', { cause: error });
      }
    },
  };
}

import { TableClient, TableServiceClient, type TableServiceClientOptions } from '@azure/data-tables';
import type { PipelinePolicy } from '@azure/core-rest-pipeline';
import { QueueClient, QueueServiceClient, type StoragePipelineOptions } from '@azure/storage-queue';
import type { TokenCredential } from '@azure/identity';
import { AppError } from '../errors.js';
import type { StorageSettings } from '../config.js';

/** Azurite's well-known development account (public, documented by Microsoft). */
const DEVSTORE_ACCOUNT = 'devstoreaccount1';
const DEVSTORE_KEY =
  'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

function expandDevelopmentStorage(connectionString: string): string {
  if (connectionString.trim() !== 'UseDevelopmentStorage=true') return connectionString;
  return [
    'DefaultEndpointsProtocol=http',
    `AccountName=${DEVSTORE_ACCOUNT}`,
    `AccountKey=${DEVSTORE_KEY}`,
    `TableEndpoint=http://127.0.0.1:10002/${DEVSTORE_ACCOUNT}`,
    `QueueEndpoint=http://127.0.0.1:10001/${DEVSTORE_ACCOUNT}`,
  ].join(';');
}

/**
 * How long one storage request may take and how often it is tried. A storage request that hangs
 * must not hold a run or a health check: each try ends after `tryTimeoutMs` and is retried a few
 * times with short pauses, so that a call gives up within about a minute.
 */
export interface StorageTiming {
  readonly tryTimeoutMs: number;
  readonly retries: number;
  readonly maxRetryDelayMs: number;
}

export const STORAGE_TRY_TIMEOUT_MS = 15_000;
export const DEFAULT_STORAGE_TIMING: StorageTiming = Object.freeze({
  tryTimeoutMs: STORAGE_TRY_TIMEOUT_MS,
  retries: 2,
  maxRetryDelayMs: 2_000,
});

/** Every table request gets a timeout unless its caller set one. */
function tryTimeoutPolicy(timeoutMs: number): PipelinePolicy {
  return {
    name: 'storageTryTimeout',
    sendRequest(request, next) {
      if (!request.timeout) request.timeout = timeoutMs;
      return next(request);
    },
  };
}

function tableOptions(timing: StorageTiming): TableServiceClientOptions {
  return {
    retryOptions: { maxRetries: timing.retries, maxRetryDelayInMs: timing.maxRetryDelayMs },
    additionalPolicies: [{ policy: tryTimeoutPolicy(timing.tryTimeoutMs), position: 'perRetry' }],
  };
}

function queueOptions(timing: StorageTiming): StoragePipelineOptions {
  return {
    retryOptions: {
      maxTries: timing.retries + 1,
      tryTimeoutInMs: timing.tryTimeoutMs,
      maxRetryDelayInMs: timing.maxRetryDelayMs,
    },
  };
}

function isLoopback(connectionString: string): boolean {
  return /Endpoint=https?:\/\/(127\.0\.0\.1|localhost|\[::1\])/i.test(connectionString);
}

/**
 * The app's identity for an identity-based account. `@azure/identity` is loaded by the first token
 * asked for: a process on a connection string never needs it, and it weighs several MiB.
 */
function identityCredential(managedIdentityClientId: string | undefined): TokenCredential {
  let credential: Promise<TokenCredential> | undefined;
  const create = async (): Promise<TokenCredential> => {
    const { DefaultAzureCredential, ManagedIdentityCredential } = await import('@azure/identity');
    return managedIdentityClientId
      ? new ManagedIdentityCredential({ clientId: managedIdentityClientId })
      : new DefaultAzureCredential();
  };
  return {
    async getToken(scopes, options) {
      credential ??= create();
      return (await credential).getToken(scopes, options);
    },
  };
}

/**
 * The client named `name`, created through `create` the first time it is asked for; a failed
 * creation is forgotten, so the next call tries again (storage may be back by then).
 */
function createdOnce<T>(
  cache: Map<string, Promise<T>>,
  name: string,
  create: () => Promise<T>,
  failure: string,
): Promise<T> {
  let client = cache.get(name);
  if (!client) {
    client = create().catch((error: unknown) => {
      cache.delete(name);
      throw new AppError('storage-unavailable', failure, { cause: error });
    });
    cache.set(name, client);
  }
  return client;
}

/**
 * The storage account that holds all state: tables and queues, created on first use. Clients are
 * cached because creating them is cheap but checking existence is not.
 */
export class StorageAccount {
  private readonly tables = new Map<string, Promise<TableClient>>();
  private readonly queues = new Map<string, Promise<QueueClient>>();
  private readonly tableService: TableServiceClient;
  private readonly queueService: QueueServiceClient;
  private readonly makeTableClient: (name: string) => TableClient;

  /** `timing` is the default everywhere but in tests that make storage hang. */
  constructor(settings: StorageSettings, timing: StorageTiming = DEFAULT_STORAGE_TIMING) {
    const tables = tableOptions(timing);
    const queues = queueOptions(timing);
    if (settings.kind === 'connection-string') {
      const connectionString = expandDevelopmentStorage(settings.connectionString);
      // Azurite speaks plain http on loopback; the SDK refuses that unless told.
      const options: TableServiceClientOptions = isLoopback(connectionString)
        ? { ...tables, allowInsecureConnection: true }
        : tables;
      this.tableService = TableServiceClient.fromConnectionString(connectionString, options);
      this.queueService = QueueServiceClient.fromConnectionString(connectionString, queues);
      this.makeTableClient = (name) => TableClient.fromConnectionString(connectionString, name, options);
    } else {
      const credential = identityCredential(settings.managedIdentityClientId);
      this.tableService = new TableServiceClient(settings.tableServiceUrl, credential, tables);
      this.queueService = new QueueServiceClient(settings.queueServiceUrl, credential, queues);
      this.makeTableClient = (name) => new TableClient(settings.tableServiceUrl, name, credential, tables);
    }
  }

  /** A table client; the table is created the first time this process asks for it. */
  table(name: string): Promise<TableClient> {
    return createdOnce(
      this.tables,
      name,
      () => {
        const client = this.makeTableClient(name);
        return client.createTable().then(() => client);
      },
      `Table ${name} could not be created`,
    );
  }

  /** A queue client; the queue is created the first time this process asks for it. */
  queue(name: string): Promise<QueueClient> {
    return createdOnce(
      this.queues,
      name,
      () => {
        const client = this.queueService.getQueueClient(name);
        return client.createIfNotExists().then(() => client);
      },
      `Queue ${name} could not be created`,
    );
  }

  /** Proves the account answers for both services (health check). */
  async ping(signal?: AbortSignal): Promise<void> {
    try {
      const tables = this.tableService.listTables({ abortSignal: signal }).byPage({ maxPageSize: 1 });
      await tables.next();
      await this.queueService.getProperties({ abortSignal: signal });
    } catch (error) {
      throw new AppError('storage-unavailable', 'Storage did not answer', { cause: error });
    }
  }
}

import { TableClient, TableServiceClient, type TableServiceClientOptions } from '@azure/data-tables';
import type { PipelinePolicy } from '@azure/core-rest-pipeline';
import { QueueClient, QueueServiceClient, type StoragePipelineOptions } from '@azure/storage-queue';
import { DefaultAzureCredential, ManagedIdentityCredential, type TokenCredential } from '@azure/identity';
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
 * A storage request that hangs must not hold a run or a health check: each try ends after this
 * long and is retried a few times with short pauses, so a call gives up within about a minute.
 */
export const STORAGE_TRY_TIMEOUT_MS = 15_000;
const STORAGE_RETRIES = 2;
const STORAGE_MAX_RETRY_DELAY_MS = 2_000;

/** Every table request gets a timeout unless its caller set one. */
const tryTimeoutPolicy: PipelinePolicy = {
  name: 'storageTryTimeout',
  sendRequest(request, next) {
    if (!request.timeout) request.timeout = STORAGE_TRY_TIMEOUT_MS;
    return next(request);
  },
};

const TABLE_OPTIONS: TableServiceClientOptions = {
  retryOptions: { maxRetries: STORAGE_RETRIES, maxRetryDelayInMs: STORAGE_MAX_RETRY_DELAY_MS },
  additionalPolicies: [{ policy: tryTimeoutPolicy, position: 'perRetry' }],
};

const QUEUE_OPTIONS: StoragePipelineOptions = {
  retryOptions: {
    maxTries: STORAGE_RETRIES + 1,
    tryTimeoutInMs: STORAGE_TRY_TIMEOUT_MS,
    maxRetryDelayInMs: STORAGE_MAX_RETRY_DELAY_MS,
  },
};

function isLoopback(connectionString: string): boolean {
  return /Endpoint=https?:\/\/(127\.0\.0\.1|localhost|\[::1\])/i.test(connectionString);
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

  constructor(settings: StorageSettings) {
    if (settings.kind === 'connection-string') {
      const connectionString = expandDevelopmentStorage(settings.connectionString);
      // Azurite speaks plain http on loopback; the SDK refuses that unless told.
      const options: TableServiceClientOptions = isLoopback(connectionString)
        ? { ...TABLE_OPTIONS, allowInsecureConnection: true }
        : TABLE_OPTIONS;
      this.tableService = TableServiceClient.fromConnectionString(connectionString, options);
      this.queueService = QueueServiceClient.fromConnectionString(connectionString, QUEUE_OPTIONS);
      this.makeTableClient = (name) => TableClient.fromConnectionString(connectionString, name, options);
    } else {
      const credential: TokenCredential = settings.managedIdentityClientId
        ? new ManagedIdentityCredential({ clientId: settings.managedIdentityClientId })
        : new DefaultAzureCredential();
      this.tableService = new TableServiceClient(settings.tableServiceUrl, credential, TABLE_OPTIONS);
      this.queueService = new QueueServiceClient(settings.queueServiceUrl, credential, QUEUE_OPTIONS);
      this.makeTableClient = (name) =>
        new TableClient(settings.tableServiceUrl, name, credential, TABLE_OPTIONS);
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

import { TableClient, TableServiceClient, type TableServiceClientOptions } from '@azure/data-tables';
import { QueueClient, QueueServiceClient } from '@azure/storage-queue';
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

function isLoopback(connectionString: string): boolean {
  return /Endpoint=https?:\/\/(127\.0\.0\.1|localhost|\[::1\])/i.test(connectionString);
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
        ? { allowInsecureConnection: true }
        : {};
      this.tableService = TableServiceClient.fromConnectionString(connectionString, options);
      this.queueService = QueueServiceClient.fromConnectionString(connectionString);
      this.makeTableClient = (name) => TableClient.fromConnectionString(connectionString, name, options);
    } else {
      const credential: TokenCredential = settings.managedIdentityClientId
        ? new ManagedIdentityCredential({ clientId: settings.managedIdentityClientId })
        : new DefaultAzureCredential();
      this.tableService = new TableServiceClient(settings.tableServiceUrl, credential);
      this.queueService = new QueueServiceClient(settings.queueServiceUrl, credential);
      this.makeTableClient = (name) => new TableClient(settings.tableServiceUrl, name, credential);
    }
  }

  /** A table client; the table is created the first time this process asks for it. */
  table(name: string): Promise<TableClient> {
    let client = this.tables.get(name);
    if (!client) {
      const tableClient = this.makeTableClient(name);
      client = tableClient.createTable().then(
        () => tableClient,
        (error: unknown) => {
          this.tables.delete(name);
          throw new AppError('storage-unavailable', `Table ${name} could not be created`, { cause: error });
        },
      );
      this.tables.set(name, client);
    }
    return client;
  }

  /** A queue client; the queue is created the first time this process asks for it. */
  queue(name: string): Promise<QueueClient> {
    let client = this.queues.get(name);
    if (!client) {
      const queueClient = this.queueService.getQueueClient(name);
      client = queueClient.createIfNotExists().then(
        () => queueClient,
        (error: unknown) => {
          this.queues.delete(name);
          throw new AppError('storage-unavailable', `Queue ${name} could not be created`, { cause: error });
        },
      );
      this.queues.set(name, client);
    }
    return client;
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

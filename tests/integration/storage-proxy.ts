import { createServer, Socket, type Server } from 'node:net';
import type { AddressInfo } from 'node:net';

/**
 * What the proxy does with each new connection: pass it to Azurite, reset it at once, answer
 * every request on it with a 503 as an overloaded storage front end does, or accept it and read
 * every request without ever answering (`hang`).
 */
export type ProxyMode = 'pass' | 'reset' | '503' | 'hang';

export interface StorageProxy {
  /** Ports the app connects to instead of Azurite's. */
  readonly tablePort: number;
  readonly queuePort: number;
  mode: ProxyMode;
  /** Connections the proxy has seen (a test waits for traffic before faulting). */
  readonly connections: number;
  /** Ends every open connection (a reset in the middle of whatever was in flight). */
  dropAll(): void;
  stop(): Promise<void>;
}

const SERVICE_UNAVAILABLE =
  'HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/xml\r\ncontent-length: 0\r\nconnection: close\r\n\r\n';

/** A TCP proxy in front of Azurite's table and queue ports whose mode a test switches at will. */
export async function startStorageProxy(target: {
  tablePort: number;
  queuePort: number;
}): Promise<StorageProxy> {
  const open = new Set<Socket>();
  let connections = 0;
  const state = { mode: 'pass' as ProxyMode };

  function serve(targetPort: number): Server {
    return createServer((client) => {
      connections++;
      open.add(client);
      client.on('close', () => open.delete(client));
      client.on('error', () => client.destroy());
      if (state.mode === 'reset') {
        client.resetAndDestroy();
        return;
      }
      if (state.mode === '503') {
        client.once('data', () => client.end(SERVICE_UNAVAILABLE));
        return;
      }
      if (state.mode === 'hang') {
        client.resume();
        return;
      }
      const upstream = new Socket();
      open.add(upstream);
      upstream.on('close', () => open.delete(upstream));
      upstream.on('error', () => client.destroy());
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
      upstream.connect(targetPort, '127.0.0.1', () => {
        client.pipe(upstream);
        upstream.pipe(client);
      });
    });
  }

  const servers = [serve(target.tablePort), serve(target.queuePort)];
  const ports = await Promise.all(
    servers.map(
      (server) =>
        new Promise<number>((resolve, reject) => {
          server.once('error', reject);
          server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
        }),
    ),
  );
  return {
    tablePort: ports[0]!,
    queuePort: ports[1]!,
    get mode() {
      return state.mode;
    },
    set mode(value: ProxyMode) {
      state.mode = value;
      // A pooled keep-alive connection would otherwise carry on as if nothing changed.
      if (value !== 'pass') for (const socket of open) socket.destroy();
    },
    get connections() {
      return connections;
    },
    dropAll() {
      for (const socket of open) socket.destroy();
    },
    async stop() {
      for (const socket of open) socket.destroy();
      await Promise.all(
        servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))),
      );
    },
  };
}

import { ADMIN_METHODS, type AdminMethod, type DevDirectoryAdmin } from './admin.js';

/** POSTs JSON and returns the status and parsed body: global fetch by default. */
export type AdminTransport = (url: string, body: string) => Promise<{ status: number; body: string }>;

export class DevDirectoryAdminError extends Error {
  constructor(
    readonly method: string,
    readonly status: number,
    message: string,
  ) {
    super(`dev directory admin ${method} answered ${status}: ${message}`);
    this.name = 'DevDirectoryAdminError';
  }
}

const fetchTransport: AdminTransport = async (url, body) => {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
  });
  return { status: response.status, body: await response.text() };
};

/**
 * The admin API of a dev directory running in another process (`${origin}/_admin/<method>`), with
 * exactly the in-process interface. The caller's process must trust the dev CA (NODE_EXTRA_CA_CERTS)
 * unless it passes its own transport.
 */
export function createAdminClient(
  origin: string,
  transport: AdminTransport = fetchTransport,
): DevDirectoryAdmin {
  const call = async (method: AdminMethod, args: unknown[]): Promise<unknown> => {
    // Trailing undefined arguments are dropped: JSON has no undefined, and the server's defaults apply.
    while (args.length > 0 && args[args.length - 1] === undefined) args.pop();
    const answer = await transport(`${origin}/_admin/${method}`, JSON.stringify(args));
    let parsed: { result?: unknown; error?: { message?: string } };
    try {
      parsed = JSON.parse(answer.body) as typeof parsed;
    } catch (error) {
      if (error instanceof SyntaxError)
        throw new DevDirectoryAdminError(method, answer.status, answer.body.slice(0, 200));
      throw error;
    }
    if (answer.status !== 200)
      throw new DevDirectoryAdminError(method, answer.status, parsed.error?.message ?? answer.body);
    return parsed.result ?? undefined;
  };
  const client: Partial<Record<AdminMethod, (...args: unknown[]) => Promise<unknown>>> = {};
  for (const method of ADMIN_METHODS) client[method] = (...args: unknown[]) => call(method, args);
  return client as unknown as DevDirectoryAdmin;
}

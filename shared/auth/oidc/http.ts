/** The network edge of the OIDC code: global fetch by default, replaceable in tests. */
export type Fetch = (input: string, init?: RequestInit) => Promise<Response>;

export const DIRECTORY_TIMEOUT_MS = 10_000;

let currentFetch: Fetch = (input, init) => fetch(input, init);

export function oidcFetch(): Fetch {
  return currentFetch;
}

export function setOidcFetch(next: Fetch | undefined): void {
  currentFetch = next ?? ((input, init) => fetch(input, init));
}

/** Thrown when the directory cannot be reached or answers something unusable. */
export class DirectoryHttpError extends Error {
  override readonly name = 'DirectoryHttpError';
  constructor(
    message: string,
    readonly status: number | undefined,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** GETs a JSON document; non-2xx, non-JSON and network failures all become DirectoryHttpError. */
export async function getJson(url: string): Promise<unknown> {
  let response: Response;
  try {
    response = await oidcFetch()(url, {
      headers: { accept: 'application/json' },
      redirect: 'error',
      signal: AbortSignal.timeout(DIRECTORY_TIMEOUT_MS),
    });
  } catch (error) {
    throw new DirectoryHttpError(`GET ${url} failed`, undefined, { cause: error });
  }
  if (!response.ok) {
    await response.body?.cancel();
    throw new DirectoryHttpError(`GET ${url} answered ${response.status}`, response.status);
  }
  try {
    return await response.json();
  } catch (error) {
    throw new DirectoryHttpError(`GET ${url} did not answer JSON`, response.status, { cause: error });
  }
}

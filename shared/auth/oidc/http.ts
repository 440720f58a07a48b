import type { Clock } from '../../clock.js';
import { fromEntraRefusal, type DirectorySubject } from '../../directory/errors.js';
import {
  createDirectoryHttp,
  SIGNIN_DIRECTORY_LIMITS,
  type DirectoryHttp,
  type DirectoryLimits,
  type Fetch,
  type Sleep,
} from '../../directory/http.js';

export type { Fetch } from '../../directory/http.js';

/** What the sign-in's directory calls need: outbound HTTP and time. */
export interface OidcDeps {
  readonly fetch: Fetch;
  readonly clock: Clock;
  readonly sleep?: Sleep;
  /** Defaults: SIGNIN_DIRECTORY_LIMITS (a person is waiting). */
  readonly limits?: Partial<DirectoryLimits>;
}

/** A DirectoryHttp for one sign-in step, confined to one origin of the tenant. */
export function oidcHttp(deps: OidcDeps, subject: DirectorySubject, origin: string): DirectoryHttp {
  return createDirectoryHttp(subject, [origin], {
    ...deps,
    limits: { ...SIGNIN_DIRECTORY_LIMITS, ...deps.limits },
  });
}

/** GETs a JSON document from the directory; a refusal becomes the directory error it means. */
export async function getDirectoryJson(http: DirectoryHttp, url: string): Promise<unknown> {
  const answer = await http.send({ method: 'GET', url });
  if (answer.status < 200 || answer.status >= 300) {
    let body: unknown;
    try {
      body = JSON.parse(answer.text);
    } catch (error) {
      if (!(error instanceof SyntaxError)) throw error;
      body = undefined;
    }
    throw http.fail(fromEntraRefusal(answer.status, body));
  }
  return http.json(answer);
}

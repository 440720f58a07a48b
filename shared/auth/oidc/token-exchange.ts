import { z } from 'zod';
import { isAppError } from '../../errors.js';
import type { DirectoryHttp } from '../../directory/http.js';
import { SIGNIN_SCOPES } from './authorization.js';

export interface CodeExchange {
  readonly tokenEndpoint: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly redirectUri: string;
  readonly code: string;
  readonly codeVerifier: string;
}

/**
 * The directory refused the exchange or could not be reached. `error` is the OAuth error code
 * (e.g. `invalid_grant`), safe to log; descriptions are not kept since they may echo input.
 */
export class CodeExchangeError extends Error {
  override readonly name = 'CodeExchangeError';
  constructor(
    readonly error: string,
    readonly status: number | undefined,
    options?: { cause?: unknown },
  ) {
    super(`token endpoint refused the code: ${error}${status === undefined ? '' : ` (${status})`}`, options);
  }
}

const tokenResponseSchema = z.object({ id_token: z.string().min(1) });
const errorResponseSchema = z.object({ error: z.string().regex(/^[\x20-\x7e]{1,100}$/) });

/**
 * Why not msal-node's acquireTokenByCode: it would rediscover the authority (its own metadata
 * fetch, `knownAuthorities` for every non-Microsoft host), keep every user's tokens in a
 * process-wide cache we never read, and check the nonce itself before our verifier could name the
 * failure. The request is one form POST; every check on its answer is ours (id-token.ts).
 *
 * Redeems an authorization code at the token endpoint (RFC 6749 §4.1.3 with the PKCE verifier of
 * RFC 7636 and a client secret, sent in the body as Entra ID accepts). Returns the raw ID token;
 * nothing here trusts it: the caller verifies it.
 */
export async function redeemCode(exchange: CodeExchange, client: DirectoryHttp): Promise<string> {
  const body = new URLSearchParams({
    grant_type: 'authorization_code',
    code: exchange.code,
    redirect_uri: exchange.redirectUri,
    client_id: exchange.clientId,
    client_secret: exchange.clientSecret,
    code_verifier: exchange.codeVerifier,
    scope: SIGNIN_SCOPES.join(' '),
  });
  let answer;
  try {
    answer = await client.send({
      method: 'POST',
      url: exchange.tokenEndpoint,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: body.toString(),
    });
  } catch (error) {
    if (isAppError(error)) throw new CodeExchangeError('unreachable', undefined, { cause: error });
    throw error;
  }
  let value: unknown;
  try {
    value = JSON.parse(answer.text);
  } catch (error) {
    throw new CodeExchangeError('malformed_response', answer.status, { cause: error });
  }
  if (answer.status < 200 || answer.status >= 300) {
    const parsed = errorResponseSchema.safeParse(value);
    throw new CodeExchangeError(parsed.success ? parsed.data.error : 'unknown_error', answer.status);
  }
  const parsed = tokenResponseSchema.safeParse(value);
  if (!parsed.success) throw new CodeExchangeError('id_token_missing', answer.status);
  return parsed.data.id_token;
}

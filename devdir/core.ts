import type { SigningKey } from './keys.js';
import { Directory } from './model.js';
import type { RequestLogEntry } from './types.js';

export interface AuthorizationCode {
  readonly directoryId: string;
  readonly clientId: string;
  readonly redirectUri: string;
  readonly userId: string;
  readonly scopes: readonly string[];
  readonly nonce: string | undefined;
  readonly codeChallenge: string | undefined;
  readonly codeChallengeMethod: 'S256' | 'plain' | undefined;
  readonly expiresAt: number;
  redeemed: boolean;
}

/** An authorization request waiting for the user to sign in on the page. */
export interface LoginTransaction {
  readonly directoryId: string;
  readonly clientId: string;
  readonly redirectUri: string;
  readonly responseMode: 'query' | 'form_post' | 'fragment';
  readonly state: string | undefined;
  readonly nonce: string | undefined;
  readonly scopes: readonly string[];
  readonly codeChallenge: string | undefined;
  readonly codeChallengeMethod: 'S256' | 'plain' | undefined;
  readonly loginHint: string | undefined;
  readonly expiresAt: number;
}

const LOG_LIMIT = 200_000;

/** The dev directory's whole in-memory state. */
export class Core {
  readonly directories = new Map<string, Directory>();
  readonly codes = new Map<string, AuthorizationCode>();
  readonly logins = new Map<string, LoginTransaction>();
  private log: RequestLogEntry[] = [];

  constructor(
    readonly origin: string,
    readonly managementKey: SigningKey,
  ) {}

  /** The `aud` of Graph tokens and the resource of `{graphBaseUrl}/.default`: Entra uses the origin. */
  get graphAudience(): string {
    return this.origin;
  }

  get managementIssuer(): string {
    return `${this.origin}/management`;
  }

  directory(id: string): Directory | undefined {
    return this.directories.get(id.toLowerCase());
  }

  record(entry: Omit<RequestLogEntry, 'at'>): void {
    this.log.push({ at: new Date().toISOString(), ...entry });
    if (this.log.length > LOG_LIMIT) this.log = this.log.slice(-LOG_LIMIT / 2);
  }

  requestLog(directoryId?: string): RequestLogEntry[] {
    if (directoryId === undefined) return [...this.log];
    const id = directoryId.toLowerCase();
    return this.log.filter((entry) => entry.directoryId === id);
  }

  resetRequestLog(directoryId?: string): void {
    if (directoryId === undefined) {
      this.log = [];
      return;
    }
    const id = directoryId.toLowerCase();
    this.log = this.log.filter((entry) => entry.directoryId !== id);
  }

  /** Drops expired codes and sign-in transactions, so a long demo session does not grow without end. */
  sweep(now = Date.now()): void {
    for (const [code, record] of this.codes) if (record.expiresAt < now - 600_000) this.codes.delete(code);
    for (const [id, login] of this.logins) if (login.expiresAt < now) this.logins.delete(id);
  }
}

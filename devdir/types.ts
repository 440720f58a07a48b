/**
 * The shapes the dev directory is seeded and administered with. Plain JSON throughout, because the
 * admin API is served over HTTP to test workers and demo scripts in other processes.
 */

import type { ManagementClientSpec } from './management-clients.js';

export interface DirectorySeed {
  readonly directories: readonly DirectorySpec[];
}

export interface DirectorySpec {
  /** Tenant id (GUID); random when absent. */
  readonly id?: string;
  readonly displayName?: string;
  /** Initial domain, e.g. `contoso.onmicrosoft.com`; derived from the display name when absent. */
  readonly domain?: string;
  /** When absent, one application is registered with the default redirect URI. */
  readonly applications?: readonly ApplicationSpec[];
  readonly users?: readonly UserSpec[];
  readonly groups?: readonly GroupSpec[];
  readonly devices?: readonly DeviceSpec[];
}

export interface ApplicationSpec {
  readonly clientId?: string;
  readonly clientSecret?: string;
  readonly displayName?: string;
  /** Exact-match redirect URIs (Entra compares them exactly). */
  readonly redirectUris?: readonly string[];
  /** When the client secret expires (ISO-8601); the token endpoint then answers AADSTS7000222. `null`: never. */
  readonly clientSecretExpiresAt?: string | null;
  /**
   * Microsoft Graph application permissions granted with admin consent, carried as the app-only
   * token's `roles`. Default `GroupMember.Read.All` and `User.Read.All`; `[]` makes Graph answer 403.
   */
  readonly graphPermissions?: readonly string[];
}

export interface UserSpec {
  readonly id?: string;
  readonly displayName: string;
  readonly givenName?: string | null;
  readonly surname?: string | null;
  /** `null` for users without a mailbox. Default: the userPrincipalName, or `null` for a guest (`#EXT#`). */
  readonly mail?: string | null;
  readonly otherMails?: readonly string[];
  /** Derived from the display name and the directory's domain when absent. */
  readonly userPrincipalName?: string;
  readonly accountEnabled?: boolean;
  /** Password for the sign-in page; `Passw0rd!` when absent. */
  readonly password?: string;
}

export interface GroupSpec {
  readonly id?: string;
  readonly displayName: string;
  readonly description?: string;
  /** Ids (or userPrincipalNames) of users, groups and devices in this directory. */
  readonly members?: readonly string[];
}

export interface DeviceSpec {
  readonly id?: string;
  readonly displayName: string;
}

export interface ApplicationInfo {
  readonly clientId: string;
  readonly clientSecret: string;
  readonly displayName: string;
  readonly redirectUris: readonly string[];
  readonly clientSecretExpiresAt: string | null;
  readonly graphPermissions: readonly string[];
}

export interface DirectoryInfo {
  readonly id: string;
  readonly displayName: string;
  readonly domain: string;
  /** What a tenant configuration sets as `authorityHost` (the dev directory's origin). */
  readonly authorityHost: string;
  /** What a tenant configuration sets as `graphBaseUrl` (the same origin; Graph lives under `/v1.0`). */
  readonly graphBaseUrl: string;
  /** `${authorityHost}/${id}/v2.0`: the ID tokens' `iss`. */
  readonly issuer: string;
  readonly tokenEndpoint: string;
  readonly applications: readonly ApplicationInfo[];
}

export interface UserInfo {
  readonly id: string;
  readonly displayName: string;
  readonly givenName: string | null;
  readonly surname: string | null;
  readonly mail: string | null;
  readonly otherMails: readonly string[];
  readonly userPrincipalName: string;
  readonly accountEnabled: boolean;
  readonly password: string;
}

/** Every field of a user but its id may change; absent fields stay as they are. */
export type UserPatch = Partial<Omit<UserSpec, 'id'>>;

export interface GroupInfo {
  readonly id: string;
  readonly displayName: string;
  readonly description: string | null;
  /** Direct members (generated users are not listed; see `generatedCount`). */
  readonly members: readonly string[];
  readonly generatedCount: number;
}

export interface DeviceInfo {
  readonly id: string;
  readonly displayName: string;
}

export interface GenerateUsersOptions {
  /** Display names are `${prefix} ${n}`; addresses `${prefix}${n}@domain` in lower case. Default `User`. */
  readonly prefix?: string;
  /** Every n-th generated user (n, 2n, ...) has `accountEnabled: false`. */
  readonly disabledEvery?: number;
}

export interface GeneratedUsers {
  /** Block id: `generatedUserId(block, i)` (devdir/ids.ts) is the object id of user i (0-based). */
  readonly block: string;
  readonly count: number;
  readonly firstId: string;
  readonly lastId: string;
}

export type IdTokenDefect =
  | 'bad-signature'
  | 'alg-none'
  | 'hs256-public-key'
  | 'unknown-kid'
  | 'wrong-aud'
  | 'wrong-iss'
  | 'wrong-tid'
  | 'expired'
  | 'iat-future'
  | 'nonce-mismatch'
  | 'missing-nonce';

export const ID_TOKEN_DEFECTS: readonly IdTokenDefect[] = [
  'bad-signature',
  'alg-none',
  'hs256-public-key',
  'unknown-kid',
  'wrong-aud',
  'wrong-iss',
  'wrong-tid',
  'expired',
  'iat-future',
  'nonce-mismatch',
  'missing-nonce',
];

/** Endpoints a fault can hit: Graph (each `$batch` part counts one), and Entra's token, metadata and key set. */
export type FaultKind = 'graph' | 'token' | 'discovery' | 'keys';

export const FAULT_KINDS: readonly FaultKind[] = ['graph', 'token', 'discovery', 'keys'];

export interface ThrottleFault {
  /** How many of the next requests (of `kinds`) are answered 429. */
  readonly requests: number;
  /** Seconds, possibly fractional (Graph sends e.g. `2.128`); omitted from the answer when `null`. Default 1. */
  readonly retryAfterSeconds?: number | null;
  /** Default `['graph']`. */
  readonly kinds?: readonly FaultKind[];
}

export interface FailFault {
  readonly requests: number;
  readonly status: 500 | 503 | 504;
  readonly retryAfterSeconds?: number | null;
  /** Default `['graph']`. */
  readonly kinds?: readonly FaultKind[];
}

export interface SlowFault {
  /** How long the answer is held; a value beyond the caller's timeout makes the directory hang. */
  readonly delayMs: number;
  /** How many requests are slowed; every one until cleared when absent. */
  readonly requests?: number;
  /** Default `['graph']`. */
  readonly kinds?: readonly FaultKind[];
  /**
   * `headers` (default): nothing is sent until the delay is over. `body`: the status, headers and
   * half of the body are sent at once, the rest after the delay (a slow-loris answer).
   */
  readonly stall?: 'headers' | 'body';
}

/**
 * Spoils Graph's `@odata.nextLink`: `foreign-origin` puts `origin` in place of the directory's own
 * (the rest of the link unchanged); `repeat` makes every page link to the second page, so the
 * second page links to itself.
 */
export type NextLinkFault =
  { readonly kind: 'foreign-origin'; readonly origin: string } | { readonly kind: 'repeat' };

export type RequestKind = 'graph' | 'graph-batch-part' | 'token' | 'authorize' | 'discovery' | 'keys';

export interface RequestLogEntry {
  readonly at: string;
  readonly kind: RequestKind;
  /** The directory the request was for (from the path or the bearer token), when known. */
  readonly directoryId: string | undefined;
  readonly method: string;
  /** Path, e.g. `/v1.0/groups/{id}/transitiveMembers/microsoft.graph.user`. */
  readonly path: string;
  /** Raw query string without `?` (empty when none). */
  readonly query: string;
  readonly status: number;
}

export type ManagementRole = 'platform-operator' | 'partner' | 'environment-admin';

export interface ManagementTokenRequest {
  readonly sub: string;
  readonly roles: readonly ManagementRole[];
  readonly environments?: readonly string[];
  /** Default 3600; negative gives an already expired token. */
  readonly expiresInSeconds?: number;
}

export interface AccessTokenRequest {
  /** Default: the directory's first application. */
  readonly clientId?: string;
  /**
   * Default 3599; negative gives an already expired token. Graph, like the real one, tolerates
   * 5 minutes of clock skew: a token Graph refuses as expired needs -301 or less.
   */
  readonly expiresInSeconds?: number;
  /** Default: the Graph audience of this dev directory. */
  readonly audience?: string;
}

export interface MailMessage {
  readonly id: string;
  readonly file: string;
  readonly receivedAt: string;
  /** SMTP envelope. */
  readonly envelopeFrom: string;
  readonly envelopeTo: readonly string[];
  readonly from: string;
  readonly to: readonly string[];
  readonly subject: string;
  readonly text: string;
  readonly html: string | undefined;
  readonly raw: string;
}

/**
 * Everything tests and demos may do to the dev directory. Every method is async and takes and
 * returns plain JSON, so the same interface is served in-process and over `${origin}/_admin/<method>`.
 */
export interface DevDirectoryAdmin {
  createDirectory(spec?: DirectorySpec): Promise<DirectoryInfo>;
  getDirectory(directoryId: string): Promise<DirectoryInfo>;
  listDirectories(): Promise<DirectoryInfo[]>;
  deleteDirectory(directoryId: string): Promise<void>;

  addApplication(directoryId: string, spec?: ApplicationSpec): Promise<ApplicationInfo>;
  updateApplication(directoryId: string, clientId: string, patch: ApplicationSpec): Promise<ApplicationInfo>;

  addUser(directoryId: string, spec: UserSpec): Promise<UserInfo>;
  getUser(directoryId: string, userId: string): Promise<UserInfo>;
  updateUser(directoryId: string, userId: string, patch: UserPatch): Promise<UserInfo>;
  removeUser(directoryId: string, userId: string): Promise<void>;

  addGroup(directoryId: string, spec: GroupSpec): Promise<GroupInfo>;
  getGroup(directoryId: string, groupId: string): Promise<GroupInfo>;
  updateGroup(
    directoryId: string,
    groupId: string,
    patch: { displayName?: string; description?: string | null },
  ): Promise<GroupInfo>;
  removeGroup(directoryId: string, groupId: string): Promise<void>;
  addDevice(directoryId: string, spec: DeviceSpec): Promise<DeviceInfo>;
  /** Members are ids (or userPrincipalNames) of users, groups or devices of the directory. */
  addMembers(directoryId: string, groupId: string, memberIds: readonly string[]): Promise<GroupInfo>;
  removeMembers(directoryId: string, groupId: string, memberIds: readonly string[]): Promise<GroupInfo>;
  /** Adds `count` computed users to a group: 100k in well under a second, a few bytes each. */
  generateUsers(
    directoryId: string,
    groupId: string,
    count: number,
    options?: GenerateUsersOptions,
  ): Promise<GeneratedUsers>;

  /** The next `requests` requests of `kinds` (default Graph) answer 429 (with Retry-After unless null). */
  throttle(directoryId: string, fault: ThrottleFault): Promise<void>;
  /** The next `requests` requests of `kinds` (default Graph) answer `status`. */
  failRequests(directoryId: string, fault: FailFault): Promise<void>;
  /** Every Graph request naming this group answers 404 or 403 until cleared with `null`. */
  failGroup(directoryId: string, groupId: string, status: 403 | 404 | null): Promise<void>;
  /** Holds answers of `kinds` (default Graph) back: before the headers (a hang) or mid-body (slow-loris). */
  slowResponses(directoryId: string, fault: SlowFault | null): Promise<void>;
  /** Spoils the `@odata.nextLink` of member pages until cleared with `null`. */
  spoilNextLinks(directoryId: string, fault: NextLinkFault | null): Promise<void>;
  /** Pages never hold more than `size` objects, whatever `$top` asks (null: no cap). */
  capPageSize(directoryId: string, size: number | null): Promise<void>;
  clearFaults(directoryId: string): Promise<void>;

  /** Spoils the NEXT ID token this directory issues (one token only). */
  setIdTokenDefect(directoryId: string, defect: IdTokenDefect | null): Promise<void>;
  /** A new signing key; the previous one stays published. Returns the new kid. */
  rotateKeys(directoryId: string): Promise<{ kid: string }>;

  requestLog(directoryId?: string): Promise<RequestLogEntry[]>;
  resetRequestLog(directoryId?: string): Promise<void>;

  issueManagementToken(request: ManagementTokenRequest): Promise<string>;
  /** A Graph access token as the token endpoint would issue (e.g. already expired, for negative tests). */
  issueAccessToken(directoryId: string, request?: AccessTokenRequest): Promise<string>;
  /** Registers a public client of the staff identity provider (`/management`), e.g. the console. */
  registerManagementClient(spec: ManagementClientSpec): Promise<ManagementClientSpec>;
}

import type { TenantConnection } from '../../shared/tenants/repository.js';
import { inject } from 'vitest';
import { createAdminClient } from '../../devdir/client.js';
import type { DevDirectoryAdmin } from '../../devdir/admin.js';
import { readMailbox } from '../../devdir/mail-sink.js';
import { uid } from './ids.js';
import { until } from './wait.js';
import type {
  AccessTokenRequest,
  ApplicationInfo,
  ApplicationSpec,
  DeviceInfo,
  DirectoryInfo,
  DirectorySpec,
  FailFault,
  GenerateUsersOptions,
  GeneratedUsers,
  GroupInfo,
  GroupSpec,
  IdTokenDefect,
  MailMessage,
  ManagementRole,
  ManagementTokenRequest,
  RequestKind,
  RequestLogEntry,
  SlowFault,
  ThrottleFault,
  UserInfo,
  UserPatch,
  UserSpec,
} from '../../devdir/types.js';

export type * from '../../devdir/types.js';
export type { DevDirectoryAdmin } from '../../devdir/admin.js';
export { DevDirectoryAdminError } from '../../devdir/client.js';
export { generatedUserId } from '../../devdir/ids.js';
export { DEFAULT_PASSWORD } from '../../devdir/records.js';
export { ID_TOKEN_DEFECTS } from '../../devdir/types.js';

/** `https://localhost:PORT` of this test run's dev directory (trusted by every worker). */
export function devDirectoryOrigin(): string {
  return inject('devDirectory').origin;
}

let cachedAdmin: { origin: string; admin: DevDirectoryAdmin } | undefined;

/** The admin API of this run's dev directory (over HTTP; the directory lives in the global setup). */
export function devDirectoryAdmin(): DevDirectoryAdmin {
  const origin = devDirectoryOrigin();
  if (cachedAdmin?.origin !== origin) cachedAdmin = { origin, admin: createAdminClient(origin) };
  return cachedAdmin.admin;
}

/** What a tenant configuration needs to use a test directory. */
export type TestTenantConnection = TenantConnection;

function label(test: string | undefined): string {
  return test ?? `Test directory ${uid()}`;
}

/**
 * One directory (tenant) of the dev directory, with every admin call bound to it. Each test file
 * creates its own, so test files running in parallel never see each other's users or faults.
 */
export class TestDirectory {
  constructor(
    readonly admin: DevDirectoryAdmin,
    readonly info: DirectoryInfo,
  ) {}

  get id(): string {
    return this.info.id;
  }
  get authorityHost(): string {
    return this.info.authorityHost;
  }
  get graphBaseUrl(): string {
    return this.info.graphBaseUrl;
  }
  /** `${authorityHost}/${id}/v2.0`: the ID tokens' issuer. */
  get issuer(): string {
    return this.info.issuer;
  }
  /** The first application registration (created by default with the redirect URI http://localhost:7071/api/auth/callback). */
  get app(): ApplicationInfo {
    const app = this.info.applications[0];
    if (app === undefined) throw new Error(`directory ${this.id} has no application`);
    return app;
  }

  tenantConnection(
    name = `t-${this.id.slice(0, 8)}`,
    environments: readonly string[] = [],
  ): TestTenantConnection {
    return {
      name,
      directoryId: this.id,
      clientId: this.app.clientId,
      clientSecret: this.app.clientSecret,
      authorityHost: this.authorityHost,
      graphBaseUrl: this.graphBaseUrl,
      environments,
    };
  }

  /** A fresh view of the directory (applications included). */
  async refresh(): Promise<TestDirectory> {
    return new TestDirectory(this.admin, await this.admin.getDirectory(this.id));
  }

  addApplication(spec?: ApplicationSpec): Promise<ApplicationInfo> {
    return this.admin.addApplication(this.id, spec);
  }
  updateApplication(clientId: string, patch: ApplicationSpec): Promise<ApplicationInfo> {
    return this.admin.updateApplication(this.id, clientId, patch);
  }

  addUser(spec: UserSpec): Promise<UserInfo> {
    return this.admin.addUser(this.id, spec);
  }
  /** `count` users `${prefix} 1..count`, mail `${prefix}N@contoso.test` (lower case), added in parallel. */
  addUsers(prefix: string, count: number): Promise<UserInfo[]> {
    const mail = prefix.toLowerCase();
    return Promise.all(
      Array.from({ length: count }, (_, index) =>
        this.addUser({ displayName: `${prefix} ${index + 1}`, mail: `${mail}${index + 1}@contoso.test` }),
      ),
    );
  }
  getUser(userId: string): Promise<UserInfo> {
    return this.admin.getUser(this.id, userId);
  }
  updateUser(userId: string, patch: UserPatch): Promise<UserInfo> {
    return this.admin.updateUser(this.id, userId, patch);
  }
  renameUser(userId: string, displayName: string): Promise<UserInfo> {
    return this.updateUser(userId, { displayName });
  }
  disableUser(userId: string): Promise<UserInfo> {
    return this.updateUser(userId, { accountEnabled: false });
  }
  enableUser(userId: string): Promise<UserInfo> {
    return this.updateUser(userId, { accountEnabled: true });
  }
  removeUser(userId: string): Promise<void> {
    return this.admin.removeUser(this.id, userId);
  }

  /** `addGroup('Sales', [userId, nestedGroupId])` or `addGroup({ displayName, members, id })`. */
  addGroup(group: string | GroupSpec, members: readonly string[] = []): Promise<GroupInfo> {
    const spec: GroupSpec = typeof group === 'string' ? { displayName: group, members } : group;
    return this.admin.addGroup(this.id, spec);
  }
  getGroup(groupId: string): Promise<GroupInfo> {
    return this.admin.getGroup(this.id, groupId);
  }
  renameGroup(groupId: string, displayName: string): Promise<GroupInfo> {
    return this.admin.updateGroup(this.id, groupId, { displayName });
  }
  removeGroup(groupId: string): Promise<void> {
    return this.admin.removeGroup(this.id, groupId);
  }
  addDevice(displayName: string): Promise<DeviceInfo> {
    return this.admin.addDevice(this.id, { displayName });
  }
  addMembers(groupId: string, memberIds: readonly string[]): Promise<GroupInfo> {
    return this.admin.addMembers(this.id, groupId, memberIds);
  }
  removeMembers(groupId: string, memberIds: readonly string[]): Promise<GroupInfo> {
    return this.admin.removeMembers(this.id, groupId, memberIds);
  }
  /** Computed users `${prefix} 1..n` into a group; `generatedUserId(result.block, i)` is user i's id. */
  generateUsers(groupId: string, count: number, options?: GenerateUsersOptions): Promise<GeneratedUsers> {
    return this.admin.generateUsers(this.id, groupId, count, options);
  }

  throttle(fault: ThrottleFault): Promise<void> {
    return this.admin.throttle(this.id, fault);
  }
  failRequests(fault: FailFault): Promise<void> {
    return this.admin.failRequests(this.id, fault);
  }
  failGroup(groupId: string, status: 403 | 404 | null): Promise<void> {
    return this.admin.failGroup(this.id, groupId, status);
  }
  slowResponses(fault: SlowFault | null): Promise<void> {
    return this.admin.slowResponses(this.id, fault);
  }
  capPageSize(size: number | null): Promise<void> {
    return this.admin.capPageSize(this.id, size);
  }
  clearFaults(): Promise<void> {
    return this.admin.clearFaults(this.id);
  }

  setIdTokenDefect(defect: IdTokenDefect | null): Promise<void> {
    return this.admin.setIdTokenDefect(this.id, defect);
  }
  rotateKeys(): Promise<{ kid: string }> {
    return this.admin.rotateKeys(this.id);
  }
  issueAccessToken(request?: AccessTokenRequest): Promise<string> {
    return this.admin.issueAccessToken(this.id, request);
  }

  /** Requests this directory received, oldest first; filter by kind (e.g. 'graph', or ['graph', 'graph-batch-part']). */
  async requestLog(kind?: RequestKind | readonly RequestKind[]): Promise<RequestLogEntry[]> {
    const entries = await this.admin.requestLog(this.id);
    if (kind === undefined) return entries;
    const kinds: readonly RequestKind[] = typeof kind === 'string' ? [kind] : kind;
    return entries.filter((entry) => kinds.includes(entry.kind));
  }
  /** Graph operations: plain requests plus each part of a $batch (the $batch envelope itself excluded). */
  async graphRequests(): Promise<RequestLogEntry[]> {
    const entries = await this.requestLog(['graph', 'graph-batch-part']);
    return entries.filter((entry) => !(entry.kind === 'graph' && entry.path === '/v1.0/$batch'));
  }
  resetRequestLog(): Promise<void> {
    return this.admin.resetRequestLog(this.id);
  }

  /** Signs in on the page of an authorize request with these parameters, as a browser would. */
  signInAt(
    parameters: Record<string, string>,
    credentials: { readonly username: string; readonly password: string },
  ): Promise<SignInResult> {
    return signInWithPage(this.authorizeUrl(parameters), credentials);
  }

  /** The authorize URL with the given parameters (client_id and response_type default to the app and `code`). */
  authorizeUrl(parameters: Record<string, string>): string {
    const url = new URL(`${this.authorityHost}/${this.id}/oauth2/v2.0/authorize`);
    url.searchParams.set('client_id', this.app.clientId);
    url.searchParams.set('response_type', 'code');
    for (const [name, value] of Object.entries(parameters)) url.searchParams.set(name, value);
    return url.toString();
  }
}

/** A new, empty-unless-specified directory in this run's dev directory (one application by default). */
export async function createTestDirectory(spec: DirectorySpec = {}): Promise<TestDirectory> {
  const admin = devDirectoryAdmin();
  return new TestDirectory(
    admin,
    await admin.createDirectory({ ...spec, displayName: label(spec.displayName) }),
  );
}

/**
 * A management bearer token from this run's dev directory. Pass the settings of
 * `managementSettings()` to `useTestEnvironment` so the app accepts it.
 */
export function managementToken(request: ManagementTokenRequest): Promise<string>;
export function managementToken(
  role: ManagementRole,
  environments?: readonly string[],
  sub?: string,
): Promise<string>;
export function managementToken(
  request: ManagementTokenRequest | ManagementRole,
  environments?: readonly string[],
  sub?: string,
): Promise<string> {
  const full: ManagementTokenRequest =
    typeof request === 'string'
      ? {
          sub: sub ?? `test-${request}`,
          roles: [request],
          ...(environments === undefined ? {} : { environments }),
        }
      : request;
  return devDirectoryAdmin().issueManagementToken(full);
}

/** Overrides for `useTestEnvironment(...)`: management tokens from this run's dev directory, mail to its sink. */
export function devDirectorySettings(): Record<string, string> {
  const origin = devDirectoryOrigin();
  return {
    MANAGEMENT_ISSUER: `${origin}/management`,
    MANAGEMENT_JWKS_URI: `${origin}/management/keys`,
    MANAGEMENT_AUDIENCE: 'api://bizzstream-external-users',
    SMTP_URL: `smtp://localhost:${inject('mailSink').port}`,
  };
}

// ---------------------------------------------------------------------------------------------
// Driving the sign-in page like a browser

export type SignInResult =
  /** 302 to the redirect URI (response_mode query/fragment): with `code` and `state`, or `error`. */
  | {
      readonly kind: 'redirect';
      readonly location: string;
      readonly code: string | undefined;
      readonly state: string | undefined;
      readonly error: string | undefined;
      readonly errorDescription: string | undefined;
    }
  /** response_mode=form_post: the auto-submitting form a browser would POST to the redirect URI. */
  | { readonly kind: 'form_post'; readonly action: string; readonly fields: Readonly<Record<string, string>> }
  /** The sign-in page shown again with an error (wrong password: AADSTS50126, disabled: AADSTS50057, unknown user: AADSTS50034). */
  | {
      readonly kind: 'sign-in-error';
      readonly errorCode: string;
      readonly message: string;
      readonly html: string;
    }
  /** An error page instead of a sign-in form (unknown client, redirect URI not registered, ...). */
  | {
      readonly kind: 'error-page';
      readonly status: number;
      readonly errorCode: string | undefined;
      readonly html: string;
    };

function unescapeHtml(value: string): string {
  return value
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

function errorOf(html: string): { code: string; message: string } | undefined {
  const match = /data-error-code="([^"]+)">([^<]*)</.exec(html);
  return match === null ? undefined : { code: match[1] ?? '', message: unescapeHtml(match[2] ?? '') };
}

function hiddenFields(html: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const match of html.matchAll(/<input type="hidden" name="([^"]*)" value="([^"]*)">/g)) {
    fields[unescapeHtml(match[1] ?? '')] = unescapeHtml(match[2] ?? '');
  }
  return fields;
}

/**
 * What a browser does with an authorize URL: GET the sign-in page, fill in and POST the form, and
 * report where the directory sends it (without following the redirect to the app).
 */
export async function signInWithPage(
  authorizeUrl: string,
  credentials: { readonly username: string; readonly password: string },
): Promise<SignInResult> {
  const pageResponse = await fetch(authorizeUrl, { redirect: 'manual' });
  if (pageResponse.status === 302) return redirectResult(pageResponse.headers.get('location') ?? '');
  const html = await pageResponse.text();
  const action = /<form id="signin" method="post" action="([^"]+)">/.exec(html)?.[1];
  if (pageResponse.status !== 200 || action === undefined) {
    return { kind: 'error-page', status: pageResponse.status, errorCode: errorOf(html)?.code, html };
  }
  const fields = hiddenFields(html);
  const body = new URLSearchParams({
    ...fields,
    username: credentials.username,
    password: credentials.password,
  });
  const posted = await fetch(new URL(unescapeHtml(action), authorizeUrl), {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body,
  });
  if (posted.status === 302) return redirectResult(posted.headers.get('location') ?? '');
  const answer = await posted.text();
  const formPost = /<form method="POST" name="hiddenform" action="([^"]+)">/.exec(answer)?.[1];
  if (formPost !== undefined)
    return { kind: 'form_post', action: unescapeHtml(formPost), fields: hiddenFields(answer) };
  const error = errorOf(answer);
  if (posted.status === 200 && error !== undefined) {
    return { kind: 'sign-in-error', errorCode: error.code, message: error.message, html: answer };
  }
  return { kind: 'error-page', status: posted.status, errorCode: error?.code, html: answer };
}

function redirectResult(location: string): SignInResult {
  const url = new URL(location);
  const parameters = url.hash.length > 1 ? new URLSearchParams(url.hash.slice(1)) : url.searchParams;
  return {
    kind: 'redirect',
    location,
    code: parameters.get('code') ?? undefined,
    state: parameters.get('state') ?? undefined,
    error: parameters.get('error') ?? undefined,
    errorDescription: parameters.get('error_description') ?? undefined,
  };
}

// ---------------------------------------------------------------------------------------------
// The mail sink

/** SMTP_URL of this run's mail sink. */
export function mailSinkUrl(): string {
  return `smtp://localhost:${inject('mailSink').port}`;
}

/** Messages the sink holds (every test file's: filter by recipient), oldest first. */
export async function mailMessages(filter: { to?: string } = {}): Promise<MailMessage[]> {
  const all = await readMailbox(inject('mailSink').dir);
  if (filter.to === undefined) return all;
  const wanted = filter.to.toLowerCase();
  return all.filter(
    (message) =>
      message.envelopeTo.some((a) => a.toLowerCase() === wanted) ||
      message.to.some((a) => a.toLowerCase() === wanted),
  );
}

/** Waits until `count` messages to `to` have arrived (mail is delivered asynchronously). */
export async function waitForMail(to: string, count = 1, timeoutMs = 10_000): Promise<MailMessage[]> {
  return until(
    `${count} message(s) to ${to}`,
    async () => {
      const messages = await mailMessages({ to });
      return messages.length >= count ? messages : undefined;
    },
    { timeoutMs },
  );
}

import { isGuid, newGuid, randomSecret } from './ids.js';
import {
  DEFAULT_GRAPH_PERMISSIONS,
  DEFAULT_REDIRECT_URI,
  DirectoryAdminError,
  applicationInfo,
  type StoredApplication,
} from './records.js';
import type { ApplicationInfo, ApplicationSpec } from './types.js';

/** A directory's app registrations by (lower-case) client id. */
export class Applications extends Map<string, StoredApplication> {
  add(spec: ApplicationSpec): ApplicationInfo {
    const clientId = (spec.clientId ?? newGuid()).toLowerCase();
    if (!isGuid(clientId)) throw new DirectoryAdminError(400, `clientId '${clientId}' is not a GUID`);
    if (this.has(clientId)) throw new DirectoryAdminError(409, `application ${clientId} exists`);
    const app: StoredApplication = {
      clientId,
      clientSecret: spec.clientSecret ?? randomSecret(),
      displayName: spec.displayName ?? `Dev app ${clientId.slice(0, 8)}`,
      redirectUris: [...(spec.redirectUris ?? [DEFAULT_REDIRECT_URI])],
      clientSecretExpiresAt: spec.clientSecretExpiresAt ?? null,
      graphPermissions: [...(spec.graphPermissions ?? DEFAULT_GRAPH_PERMISSIONS)],
      servicePrincipalId: newGuid(),
    };
    this.set(clientId, app);
    return applicationInfo(app);
  }

  update(clientId: string, patch: ApplicationSpec): ApplicationInfo {
    const app = this.get(clientId.toLowerCase());
    if (app === undefined) throw new DirectoryAdminError(404, `no application ${clientId}`);
    if (patch.clientSecret !== undefined) {
      app.clientSecret = patch.clientSecret;
      // A new secret comes with its own lifetime.
      app.clientSecretExpiresAt = null;
    }
    if (patch.displayName !== undefined) app.displayName = patch.displayName;
    if (patch.redirectUris !== undefined) app.redirectUris = [...patch.redirectUris];
    if (patch.clientSecretExpiresAt !== undefined) app.clientSecretExpiresAt = patch.clientSecretExpiresAt;
    if (patch.graphPermissions !== undefined) app.graphPermissions = [...patch.graphPermissions];
    return applicationInfo(app);
  }
}

import type { Core } from './core.js';
import type { Implementation } from './admin.js';
import type { Directory } from './model.js';
import { registerManagementClient } from './management-clients.js';
import { DirectoryAdminError } from './records.js';
import { issueAccessToken, issueManagementToken } from './tokens.js';

type TokenMethods = Pick<
  Implementation,
  | 'rotateKeys'
  | 'requestLog'
  | 'resetRequestLog'
  | 'issueManagementToken'
  | 'issueAccessToken'
  | 'registerManagementClient'
>;

/** The admin methods for keys, tokens, management clients and the request log. */
export function tokenMethods(core: Core, directory: (id: string) => Directory): TokenMethods {
  return {
    async rotateKeys(id) {
      return { kid: await directory(id).rotateKeys() };
    },
    requestLog(id) {
      return core.requestLog(id);
    },
    resetRequestLog(id) {
      core.resetRequestLog(id);
    },
    async issueManagementToken(request) {
      if (typeof request.sub !== 'string' || request.sub === '' || !Array.isArray(request.roles)) {
        throw new DirectoryAdminError(400, 'sub and roles are required');
      }
      return await issueManagementToken(core.managementKey, core.managementIssuer, request);
    },
    async issueAccessToken(id, request = {}) {
      const d = directory(id);
      const application =
        request.clientId === undefined
          ? d.applications.values().next().value
          : d.applications.get(request.clientId.toLowerCase());
      if (application === undefined) throw new DirectoryAdminError(404, 'no such application');
      return await issueAccessToken({
        origin: core.origin,
        directory: d,
        application,
        audience: request.audience ?? core.graphAudience,
        expiresInSeconds: request.expiresInSeconds ?? 3599,
      });
    },
    registerManagementClient(spec) {
      return registerManagementClient(core, spec);
    },
  };
}

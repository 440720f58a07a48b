import { registerHttp } from '../shared/host/registry.js';
import { json, withProblems } from '../shared/http/respond.js';
import { checkHealth } from '../shared/health/service.js';

registerHttp('health', {
  methods: ['GET'],
  authLevel: 'anonymous',
  route: 'health',
  handler: withProblems(async () => json(200, await checkHealth())),
});

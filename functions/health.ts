import { registerHttp } from '../shared/host/registry.js';
import { json, withProblems } from '../shared/http/respond.js';

registerHttp('health', {
  methods: ['GET'],
  authLevel: 'anonymous',
  route: 'health',
  handler: ({ health }) => withProblems(async () => json(200, await health.check())),
});

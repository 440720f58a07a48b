import { consoleEnv, getConfig } from '../shared/config.js';
import { consoleSettings } from '../shared/console/settings.js';
import {
  consoleAnswer,
  consoleBuildDir,
  contentSecurityPolicy,
  loadConsoleFiles,
  type ConsoleFiles,
} from '../shared/console/static-files.js';
import { registerHttpAtRoot } from '../shared/host/registry.js';
import { json, withProblems } from '../shared/http/respond.js';

let files: Promise<ConsoleFiles> | undefined;

/** The console's sign-in settings, read by the page at start so that none is built into it. */
registerHttpAtRoot('consoleConfig', {
  methods: ['GET'],
  authLevel: 'anonymous',
  route: 'console/config.json',
  handler: withProblems(() =>
    Promise.resolve(json(200, consoleSettings(getConfig(), consoleEnv()), { 'cache-control': 'no-cache' })),
  ),
});

/** The console: its page for every screen's path, and the files of its build. */
registerHttpAtRoot('console', {
  methods: ['GET', 'HEAD'],
  authLevel: 'anonymous',
  route: 'console/{*path}',
  handler: withProblems(async (request) => {
    const url = new URL(request.url);
    // Relative links of the page resolve against /console/, never /.
    if (url.pathname === '/console') {
      return { status: 308, headers: { location: `/console/${url.search}`, 'cache-control': 'no-cache' } };
    }
    files ??= loadConsoleFiles(consoleBuildDir());
    const csp = contentSecurityPolicy(getConfig().management.issuer);
    const answer = consoleAnswer(await files, request.params.path ?? '', csp);
    return { status: answer.status, headers: answer.headers, body: answer.body };
  }),
});

import { browserSession } from '../shared/auth/signin-http.js';
import { toConsoleSession } from '../shared/console/session.js';
import { toConsoleSettings } from '../shared/console/settings.js';
import {
  consoleAnswer,
  consoleBuildDir,
  contentSecurityPolicy,
  loadConsoleFiles,
  type ConsoleFiles,
} from '../shared/console/static-files.js';
import { registerHttpAtRoot } from '../shared/host/registry.js';
import { json, withProblems } from '../shared/http/respond.js';

/** The console's sign-in settings, read by the page at start so that none is built into it. */
registerHttpAtRoot('consoleConfig', {
  methods: ['GET'],
  authLevel: 'anonymous',
  route: 'console/config.json',
  handler: ({ config }) =>
    withProblems(() =>
      Promise.resolve(json(200, toConsoleSettings(config), { 'cache-control': 'no-cache' })),
    ),
});

/**
 * Whether the browser is signed in as an external user, for the page at `/console/session`: 200
 * either way, so the page's question never shows as a failed request in the browser's console.
 */
registerHttpAtRoot('consoleSession', {
  methods: ['GET'],
  authLevel: 'anonymous',
  route: 'console/session.json',
  handler: ({ sessions }) =>
    withProblems(async (request, context) => {
      const { lookup, cookies } = await browserSession(sessions, request, context);
      return { ...json(200, toConsoleSession(lookup)), cookies };
    }),
});

/** The console: its page for every screen's path, and the files of its build. */
registerHttpAtRoot('console', {
  methods: ['GET', 'HEAD'],
  authLevel: 'anonymous',
  route: 'console/{*path}',
  handler: ({ config }) => {
    // Read on first request and kept: the build does not change while the app runs.
    let files: Promise<ConsoleFiles> | undefined;
    const csp = contentSecurityPolicy(config.management.issuer);
    return withProblems(async (request) => {
      const url = new URL(request.url);
      // Relative links of the page resolve against /console/, never /.
      if (url.pathname === '/console') {
        return { status: 308, headers: { location: `/console/${url.search}`, 'cache-control': 'no-cache' } };
      }
      files ??= loadConsoleFiles(consoleBuildDir());
      const answer = consoleAnswer(await files, request.params.path ?? '', csp);
      return { status: answer.status, headers: answer.headers, body: answer.body };
    });
  },
});

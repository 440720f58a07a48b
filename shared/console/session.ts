import type { SessionLookup, SessionView } from '../auth/sessions.js';

/**
 * What `/console/session.json` answers: whether the request carries a live external user's
 * session, and that session. The page asks here rather than at `/api/auth/session`, whose 401 for
 * "not signed in" a browser reports as a failed request in its console; not being signed in is an
 * answer this page expects.
 */
export type ConsoleSession =
  { readonly signedIn: true; readonly session: SessionView } | { readonly signedIn: false };

export function toConsoleSession(lookup: SessionLookup): ConsoleSession {
  return lookup.live ? { signedIn: true, session: lookup.session } : { signedIn: false };
}

/** `GET /api/auth/session` of a signed-in external user. */
export interface ExternalSession {
  readonly userId: string;
  readonly displayName: string;
  readonly email: string;
  readonly environment: string;
  readonly expiresAt: string;
}

/** `GET /console/session.json`: whether this browser is signed in as an external user. */
export type ConsoleSession =
  { readonly signedIn: true; readonly session: ExternalSession } | { readonly signedIn: false };

/** "28 Nov 2026, 17:04 (in 8 hours)": the end of the session, and how far off it is. */
export function sessionEnds(expiresAt: string, now: Date, locale?: string): string {
  const end = new Date(expiresAt);
  if (Number.isNaN(end.getTime())) return expiresAt;
  const minutes = Math.round((end.getTime() - now.getTime()) / 60_000);
  const when = end.toLocaleString(locale, { dateStyle: 'medium', timeStyle: 'short' });
  if (minutes <= 0) return `${when} (ended)`;
  if (minutes < 60) return `${when} (in ${minutes} minute${minutes === 1 ? '' : 's'})`;
  const hours = Math.round(minutes / 60);
  return `${when} (in ${hours} hour${hours === 1 ? '' : 's'})`;
}

import { escapeHtml, htmlReply, type Reply } from './http.js';
import type { ManagementRole } from './types.js';

/** The pages of the staff sign-in: where one picks who to be, and where a bad request ends. */

export const ROLES: readonly { readonly role: ManagementRole; readonly label: string }[] = [
  { role: 'platform-operator', label: 'Platform operator' },
  { role: 'partner', label: 'Partner' },
  { role: 'environment-admin', label: 'Environment admin' },
];

export function errorPage(status: number, message: string): Reply {
  return htmlReply(
    status,
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sign-in error</title><link rel="icon" href="data:,"></head><body><main><h1>Sign-in error</h1><p role="alert">${escapeHtml(message)}</p></main></body></html>`,
  );
}

export function loginPage(
  loginId: string,
  clientId: string,
  problem: string | undefined,
  status = 200,
): Reply {
  const roles = ROLES.map(
    ({ role, label }, index) =>
      `<div><input type="radio" id="role-${role}" name="role" value="${role}"${index === 0 ? ' checked' : ''}><label for="role-${role}">${label}</label></div>`,
  ).join('');
  return htmlReply(
    status,
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Sign in — dev directory</title><link rel="icon" href="data:,"></head>
<body><main>
<h1>Sign in to the BizzStream console</h1>
<p>The dev directory stands in for the staff identity provider: choose who to be. Application: <code>${escapeHtml(clientId)}</code>.</p>
${problem === undefined ? '' : `<p role="alert">${escapeHtml(problem)}</p>`}
<form method="post" action="/management/authorize">
<input type="hidden" name="login" value="${escapeHtml(loginId)}">
<fieldset><legend>Role</legend>${roles}</fieldset>
<p><label for="sub">User name (sub)</label> <input id="sub" name="sub" autocomplete="username" placeholder="dev-&lt;role&gt;"></p>
<p><label for="environments">Environments (environment admin; comma-separated)</label> <input id="environments" name="environments" placeholder="demo"></p>
<p><button type="submit">Sign in</button></p>
</form>
</main></body></html>`,
  );
}

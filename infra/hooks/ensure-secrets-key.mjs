/* global Buffer, console, process */
// azd `preprovision` hook (azure.yaml). SECRETS_KEY encrypts the tenants' client secrets at rest;
// infra/main.bicep writes it to Key Vault on every provision. A new random key on a later provision
// would make every stored client secret unreadable, so this hook generates one only for an azd
// environment that has never been provisioned, and otherwise insists that the key is present.
//
// Environment (azd passes its environment's values to hooks):
//   SECRETS_KEY                 the key(s) to write to Key Vault; checked for shape here.
//   SECRETS_KEY_IN_KEY_VAULT    "true": the operator manages SECRETS-KEY in Key Vault directly;
//                               provision leaves the secret alone (SECRETS_KEY must then be empty).
//   AZURE_KEY_VAULT_NAME        set by a previous provision (an output of main.bicep).
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';

/** The shape shared/config.ts parseSecretsKeys accepts: `[id:]base64(32 bytes)`, comma-separated. */
function secretsKeyProblem(value) {
  const parts = value
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '');
  if (parts.length === 0) return 'holds no key';
  const ids = new Set();
  for (const part of parts) {
    const colon = part.indexOf(':');
    const id = colon > 0 ? part.slice(0, colon) : undefined;
    const encoded = colon > 0 ? part.slice(colon + 1) : part;
    if (id !== undefined && !/^[A-Za-z0-9._-]{1,32}$/.test(id)) return `has a malformed key id "${id}"`;
    if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(encoded) || Buffer.from(encoded, 'base64').length !== 32) {
      return 'has a key that is not base64 of 32 bytes';
    }
    const key = id ?? encoded;
    if (ids.has(key)) return 'repeats a key';
    ids.add(key);
  }
  return undefined;
}

function main(env) {
  const current = (env.SECRETS_KEY ?? '').trim();
  if (env.SECRETS_KEY_IN_KEY_VAULT === 'true') {
    if (current !== '') {
      return fail('SECRETS_KEY_IN_KEY_VAULT is true but SECRETS_KEY is set too: clear one of them.');
    }
    console.log('SECRETS_KEY is managed in Key Vault; provision leaves the SECRETS-KEY secret as it is.');
    return 0;
  }
  if (current !== '') {
    const problem = secretsKeyProblem(current);
    if (problem !== undefined) return fail(`SECRETS_KEY ${problem} (see docs/operations.md).`);
    return 0;
  }
  if ((env.AZURE_KEY_VAULT_NAME ?? '') !== '') {
    return fail(
      `SECRETS_KEY is missing from this azd environment, which was provisioned before (Key Vault ${env.AZURE_KEY_VAULT_NAME}). ` +
        'A new key would make every stored client secret unreadable. Restore it with ' +
        `azd env set SECRETS_KEY "$(az keyvault secret show --vault-name ${env.AZURE_KEY_VAULT_NAME} --name SECRETS-KEY --query value -o tsv)", ` +
        'or run azd env set SECRETS_KEY_IN_KEY_VAULT true to manage it in Key Vault only.',
    );
  }
  const generated = randomBytes(32).toString('base64');
  execFileSync('azd', ['env', 'set', 'SECRETS_KEY', generated], { stdio: ['ignore', 'ignore', 'inherit'] });
  console.log(
    'Generated SECRETS_KEY and stored it in the azd environment; provision writes it to Key Vault.',
  );
  return 0;
}

function fail(message) {
  console.error(`ensure-secrets-key: ${message}`);
  return 1;
}

process.exitCode = main(process.env);

import { LOCAL_DEFAULTS, type Env } from '../../shared/config.js';

const DEFAULTS: Readonly<Record<string, string>> = LOCAL_DEFAULTS;

/** A setting as the app reads it locally: unset or set to nothing, it is the local default. */
function localSetting(env: Env, name: string): string | undefined {
  const given = env[name];
  return given !== undefined && given !== '' ? given : DEFAULTS[name];
}

/**
 * The environment of a Functions host started locally (Core Tools): the settings it reads itself
 * (storage for its triggers, `%NAME%` in bindings) filled in with the local defaults, as the app's
 * own code fills them in, so that `npm run host` needs no local.settings.json there either.
 */
export function localHostEnv(env: Env): Env {
  const filled: Record<string, string | undefined> = { ...env };
  for (const name of Object.keys(DEFAULTS)) filled[name] = localSetting(env, name);
  return filled;
}

/**
 * `%NAME%` in a binding expression is replaced by the app setting NAME, as the Functions host
 * does; locally, a setting that is unset falls back to the documented local default.
 */
export function resolveSettingReferences(expression: string, env: Env): string {
  return expression.replace(/%([A-Za-z0-9_.:-]+)%/g, (_, name: string) => {
    const value = localSetting(env, name);
    if (value === undefined) {
      throw new Error(`The app setting "${name}" referenced by "${expression}" is not set`);
    }
    return value;
  });
}

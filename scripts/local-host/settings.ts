import { localSetting, type Env } from '../../shared/config.js';

/**
 * The settings a Functions host reads itself rather than through the app's config: the storage of
 * its triggers, and those its bindings name as `%NAME%`.
 */
const HOST_SETTINGS = ['AzureWebJobsStorage', 'SYNC_SCHEDULE'] as const;

/**
 * The environment of a Functions host started locally (Core Tools): the settings it reads itself
 * filled in as the app reads them locally, so that `npm run host` needs no local.settings.json
 * there either. The app's own settings are left as given: it applies its defaults itself.
 */
export function localHostEnv(env: Env): Env {
  const filled: Record<string, string | undefined> = { ...env };
  for (const name of HOST_SETTINGS) filled[name] = localSetting(env, name);
  return filled;
}

/**
 * `%NAME%` in a binding expression is replaced by the app setting NAME, as the Functions host
 * does; locally, a setting that is unset (or set to nothing) falls back to the local default.
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

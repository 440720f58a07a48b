import { LOCAL_DEFAULTS, type Env } from '../../shared/config.js';

/**
 * `%NAME%` in a binding expression is replaced by the app setting NAME, as the Functions host
 * does; locally, a setting that is unset falls back to the documented local default.
 */
export function resolveSettingReferences(expression: string, env: Env): string {
  return expression.replace(/%([A-Za-z0-9_.:-]+)%/g, (_, name: string) => {
    const value = env[name] ?? (LOCAL_DEFAULTS as Readonly<Record<string, string>>)[name];
    if (value === undefined || value === '') {
      throw new Error(`The app setting "${name}" referenced by "${expression}" is not set`);
    }
    return value;
  });
}

/** Where a successful sign-in lands when `returnTo` is absent or refused. */
export const DEFAULT_RETURN_TO = '/';

const MAX_RETURN_TO_LENGTH = 2048;
const PROBE_ORIGIN = 'https://return-to.invalid';

/**
 * Accepts only a path on this origin: exactly one leading '/', then something that is not '/' or
 * '\'. Browsers treat '\' as '/' and silently drop tabs and newlines inside URLs, so '/\evil',
 * '/\t/evil' and the like are protocol-relative in practice; any backslash or control character
 * is refused outright rather than normalised. A plain space is different: browsers keep it and
 * percent-encode it, so it cannot join two slashes, and a query parameter decoded from
 * `?returnTo=/search?q=a+b` holds one. It is kept, sent as `%20` so the Location header holds no
 * whitespace. Whatever is refused becomes '/'.
 */
export function sanitizeReturnTo(value: string | null | undefined): string {
  if (value === null || value === undefined || value === '') return DEFAULT_RETURN_TO;
  if (value.length > MAX_RETURN_TO_LENGTH) return DEFAULT_RETURN_TO;
  if (!value.startsWith('/') || value.startsWith('//')) return DEFAULT_RETURN_TO;
  if ([...value].some(isRefusedCharacter)) return DEFAULT_RETURN_TO;
  let resolved: URL;
  try {
    resolved = new URL(value, PROBE_ORIGIN);
  } catch {
    return DEFAULT_RETURN_TO;
  }
  // Second line of defence: whatever the string looks like, it must stay on our origin.
  if (resolved.origin !== PROBE_ORIGIN) return DEFAULT_RETURN_TO;
  return value.replaceAll(' ', '%20');
}

/** Backslashes, whitespace but the plain space, control characters and the invisible ones a browser may strip. */
function isRefusedCharacter(character: string): boolean {
  const code = character.codePointAt(0) ?? 0;
  return (
    character === '\\' ||
    code < 0x20 ||
    (code >= 0x7f && code <= 0x9f) ||
    code === 0x2028 ||
    code === 0x2029 ||
    code === 0xfeff
  );
}

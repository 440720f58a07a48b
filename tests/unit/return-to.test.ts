import { describe, expect, it } from 'vitest';
import { sanitizeReturnTo } from '../../shared/auth/return-to.js';

describe('sanitizeReturnTo', () => {
  it.each([
    ['/', '/'],
    ['/projects', '/projects'],
    ['/projects/42?tab=files#top', '/projects/42?tab=files#top'],
    ['/a/b/../c', '/a/b/../c'],
    ['/%2F%2Fevil.example', '/%2F%2Fevil.example'],
    ['/search?q=https://evil.example', '/search?q=https://evil.example'],
    ['/search?q=a b', '/search?q=a%20b'],
    ['/my files/report', '/my%20files/report'],
    ['/ /evil.example', '/%20/evil.example'],
  ])('keeps the same-origin path %j', (input, expected) => {
    expect(sanitizeReturnTo(input)).toBe(expected);
  });

  it('keeps a query whose space came from decoding "+" in the login URL, and keeps what it kept', () => {
    const decoded = new URLSearchParams('returnTo=/search?q=a+b').get('returnTo');
    const kept = sanitizeReturnTo(decoded);
    expect(kept).toBe('/search?q=a%20b');
    expect(new URL(kept, 'https://app.example').searchParams.get('q')).toBe('a b');
    expect(sanitizeReturnTo(kept)).toBe(kept);
  });

  it.each([
    [undefined],
    [null],
    [''],
    ['https://evil.example'],
    ['http://evil.example/path'],
    ['//evil.example'],
    ['///evil.example'],
    ['/\\evil.example'],
    ['\\\\evil.example'],
    ['\\/evil.example'],
    ['/\t/evil.example'],
    ['/\n/evil.example'],
    ['/\r\n/evil.example'],
    ['/\u000b/evil.example'],
    ['/\f/evil.example'],
    [' /projects'],
    ['/projects\u0000'],
    ['/\u2028/evil.example'],
    ['javascript:alert(1)'],
    ['data:text/html,hi'],
    ['projects'],
    ['./projects'],
    ['?next=/x'],
    ['#fragment'],
    ['/' + 'a'.repeat(5000)],
  ])('turns %j into "/"', (input) => {
    expect(sanitizeReturnTo(input)).toBe('/');
  });
});

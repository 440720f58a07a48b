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
  ])('keeps the same-origin path %j', (input, expected) => {
    expect(sanitizeReturnTo(input)).toBe(expected);
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

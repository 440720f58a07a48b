import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { isAppError } from '../../shared/errors.js';
import { parseWith } from '../../shared/validation.js';

function fieldsOf(schema: z.ZodType, value: unknown): Readonly<Record<string, string>> | undefined {
  try {
    parseWith(schema, value);
  } catch (error) {
    if (isAppError(error, 'validation')) return error.fields;
    throw error;
  }
  return undefined;
}

describe('validation messages in plain words', () => {
  it.each([
    [
      'a number below its minimum',
      z.object({ limit: z.number().int().min(1) }),
      { limit: 0 },
      'must be at least 1',
    ],
    [
      'a number above its maximum',
      z.object({ limit: z.number().max(100) }),
      { limit: 101 },
      'must be at most 100',
    ],
    ['a positive number', z.object({ n: z.number().positive() }), { n: 0 }, 'must be more than 0'],
    ['a fraction for a whole number', z.object({ n: z.int() }), { n: 1.5 }, 'must be a whole number'],
    ['a string for a list', z.object({ menus: z.array(z.string()) }), { menus: 'x' }, 'must be a list'],
    ['a number for a string', z.object({ name: z.string() }), { name: 7 }, 'must be a string'],
    ['a missing member', z.object({ name: z.string() }), {}, 'is required'],
    ['an empty string', z.object({ name: z.string().min(1) }), { name: '' }, 'must not be empty'],
    [
      'a long string',
      z.object({ name: z.string().max(3) }),
      { name: 'abcd' },
      'must be at most 3 characters long',
    ],
    [
      'a long list',
      z.object({ ids: z.array(z.string()).max(2) }),
      { ids: ['a', 'b', 'c'] },
      'must hold at most 2 items',
    ],
    ['a string for a flag', z.object({ on: z.boolean() }), { on: 'yes' }, 'must be true or false'],
  ])('%s', (_case, schema, value, message) => {
    const fields = fieldsOf(schema, value);
    expect(Object.values(fields ?? {})).toEqual([message]);
  });

  it("keeps a schema's own message over the plain one", () => {
    const schema = z.object({ limit: z.number().min(1, { error: 'must be a positive count' }) });
    expect(fieldsOf(schema, { limit: 0 })).toEqual({ limit: 'must be a positive count' });
  });

  it('names every bad field at once, and each unknown member', () => {
    const schema = z.strictObject({ a: z.string(), b: z.number() });
    expect(fieldsOf(schema, { a: 1, b: 'x', c: true })).toEqual({
      a: 'must be a string',
      b: 'must be a number',
      c: 'is not accepted here',
    });
  });
});

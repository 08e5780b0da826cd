import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { apiErrorFrom, flattenFieldErrors } from './errors';

describe('Admin API error bodies', () => {
  it('flattens nested and array field messages to the dotted paths forms use', () => {
    expect(
      flattenFieldErrors({
        config: { key_names: 'length must be at least 1' },
        paths: [null, 'should start with: /'],
        '@entity': ['at least one of these fields must be non-empty'],
      }),
    ).toEqual({
      'config.key_names': 'length must be at least 1',
      paths: 'should start with: /',
      '@entity': 'at least one of these fields must be non-empty',
    });
  });

  it('keeps the message of a non-JSON or fieldless body', () => {
    expect(apiErrorFrom(502, 'Bad gateway\n')).toMatchObject({
      status: 502,
      message: 'Bad gateway',
      fields: {},
    });
    expect(apiErrorFrom(401, '{"message":"Invalid credentials"}')).toMatchObject({
      status: 401,
      message: 'Invalid credentials',
    });
  });

  it('never throws or pollutes prototypes on any body', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.json(), fc.string(), fc.constant('{"fields":{"__proto__":{"x":"y"}}}')),
        (text) => {
          const e = apiErrorFrom(400, text);
          expect(typeof e.message).toBe('string');
          for (const v of Object.values(e.fields)) expect(typeof v).toBe('string');
          expect(({} as Record<string, unknown>).x).toBeUndefined();
        },
      ),
    );
  });
});

import { describe, expect, it } from 'vitest';
import { loadPluginSchemas } from '../schemas.js';

const catalog = await loadPluginSchemas();
const validate = (config: unknown) => catalog.validateConfig('response-aggregation', config, {});

function violation(config: unknown): unknown {
  try {
    validate(config);
  } catch (e) {
    return (e as { details?: { body?: { fields?: unknown } } }).details?.body?.fields;
  }
  throw new Error('config was accepted');
}

describe('response-aggregation schema', () => {
  it('fills the defaults', () => {
    expect(validate({ calls: [{ name: 'a', service: 's', path: '/x' }] })).toEqual({
      calls: [
        { name: 'a', service: 's', path: '/x', depends_on: [], timeout: 5000, fields: null, rename: null },
      ],
      merge: false,
      on_failure: 'fail',
      timeout: 10000,
      max_body_size: 1048576,
      forward_headers: [],
    });
  });

  it('refuses a dependency cycle, naming the field of the call that closes it', () => {
    expect(
      violation({
        calls: [
          { name: 'a', service: 's', path: '/x', depends_on: ['b'] },
          { name: 'b', service: 's', path: '/{resp.a.id}' },
        ],
      }),
    ).toEqual({ config: { calls: [{ depends_on: 'dependency cycle: a -> b -> a' }, null] } });
  });

  it('refuses unknown references in depends_on and in the path', () => {
    expect(violation({ calls: [{ name: 'a', service: 's', path: '/x', depends_on: ['nope'] }] })).toEqual({
      config: { calls: [{ depends_on: "unknown call 'nope'" }] },
    });
    expect(violation({ calls: [{ name: 'a', service: 's', path: '/{resp.ghost.id}' }] })).toEqual({
      config: { calls: [{ path: "unknown call 'ghost'" }] },
    });
  });

  it('refuses duplicate names, bad names, bad templates, bad paths and an unknown policy', () => {
    expect(
      violation({
        calls: [
          { name: 'a', service: 's', path: '/x' },
          { name: 'a', service: 's', path: '/y' },
        ],
      }),
    ).toEqual({ config: { calls: [null, { name: "duplicate call name 'a'" }] } });
    expect(
      violation({
        on_failure: 'ignore',
        calls: [{ name: '__proto__', service: 's', path: 'x', fields: ['a..b'] }],
      }),
    ).toEqual({
      config: {
        calls: [
          {
            name: 'a call name starts with a letter: letters, digits, _ and - (at most 64)',
            path: "must start with '/'",
            fields: ["invalid path 'a..b': segments are non-empty, without spaces or braces"],
          },
        ],
        on_failure: 'expected one of: fail, partial',
      },
    });
  });

  it(`refuses more than 16 calls and none`, () => {
    const calls = Array.from({ length: 17 }, (_, i) => ({ name: `c${i}`, service: 's', path: '/x' }));
    expect(violation({ calls })).toEqual({ config: { calls: 'length must be at most 16' } });
    expect(violation({ calls: [] })).toMatchObject({ config: { calls: expect.any(String) } });
  });
});

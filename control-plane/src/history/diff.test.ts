import { emptyConfig, type GatehouseConfig } from '@gatehouse/shared';
import { describe, expect, it } from 'vitest';
import { diffVersions, REDACTED, type PluginDescriptions } from './diff.js';
import { summarizeChanges } from './summary.js';
import { diffConfigs } from '../store/replace.js';

const ID = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

/** Kong's `/schemas/plugins/{name}` shape: `redis.password` is encrypted, `host` is not. */
const plugins: PluginDescriptions = {
  describe: (name) =>
    name === 'rate-limiting'
      ? {
          fields: [
            { protocols: { type: 'set' } },
            {
              config: {
                type: 'record',
                fields: [
                  { minute: { type: 'number' } },
                  {
                    redis: {
                      type: 'record',
                      fields: [
                        { host: { type: 'string' } },
                        { password: { type: 'string', encrypted: true } },
                      ],
                    },
                  },
                ],
              },
            },
          ],
        }
      : undefined,
};

function config(parts: Partial<Record<keyof GatehouseConfig, unknown[]>>): GatehouseConfig {
  return { ...emptyConfig(), ...parts } as GatehouseConfig;
}

const consumer = { id: ID(1), username: 'alice', custom_id: null, tags: null, created_at: 1, updated_at: 1 };
const key = (k: string) => ({
  id: ID(2),
  consumer: { id: ID(1) },
  key: k,
  ttl: null,
  tags: null,
  created_at: 1,
});
const limit = (minute: number, password: string) => ({
  id: ID(3),
  name: 'rate-limiting',
  config: { minute, redis: { host: 'redis.internal', password } },
  enabled: true,
  created_at: 1,
  updated_at: 1,
});

describe('config history diff', () => {
  it('lists added entities whole with their secrets redacted', () => {
    const d = diffVersions(
      config({}),
      config({ consumers: [consumer], keyauth_credentials: [key('k-1')] }),
      plugins,
    );
    expect(d.summary).toBe('consumers: +1 ~0 -0, keyauth_credentials: +1 ~0 -0');
    expect(d.changes.consumers?.added).toEqual([consumer]);
    expect(d.changes.keyauth_credentials?.added[0]?.key).toBe(REDACTED);
    expect(JSON.stringify(d)).not.toContain('k-1');
  });

  it('names each changed field with from and to; a changed secret shows as changed, redacted', () => {
    const before = config({
      consumers: [consumer],
      keyauth_credentials: [key('old-key')],
      plugins: [limit(5, 'pw-1')],
    });
    const after = config({
      consumers: [consumer],
      keyauth_credentials: [key('new-key')],
      plugins: [limit(10, 'pw-2')],
    });
    const d = diffVersions(before, after, plugins);
    expect(d.changes.consumers).toBeUndefined();
    expect(d.changes.keyauth_credentials?.changed).toEqual([
      expect.objectContaining({ id: ID(2), fields: { key: { from: REDACTED, to: REDACTED } } }),
    ]);
    const plugin = d.changes.plugins?.changed[0];
    expect(plugin?.fields.config).toEqual({
      from: { minute: 5, redis: { host: 'redis.internal', password: REDACTED } },
      to: { minute: 10, redis: { host: 'redis.internal', password: REDACTED } },
    });
    expect(JSON.stringify(d)).not.toMatch(/old-key|new-key|pw-1|pw-2/);
  });

  it('judges the config of a plugin whose schema is unknown by its field names', () => {
    const custom = {
      ...limit(1, 'x'),
      name: 'my-plugin',
      config: { upstream_token: 't0ps3cret', api_key: 'abc', nested: { client_secret: 's' }, host: 'h' },
    };
    const d = diffVersions(config({}), config({ plugins: [custom] }), plugins);
    expect(d.changes.plugins?.added[0]?.config).toEqual({
      upstream_token: REDACTED,
      api_key: REDACTED,
      nested: { client_secret: REDACTED },
      host: 'h',
    });
  });

  it('summarises no changes, and ignores timestamps', () => {
    const a = config({ consumers: [consumer] });
    const b = config({ consumers: [{ ...consumer, updated_at: 99 }] });
    expect(summarizeChanges(diffConfigs(a, b).changes)).toBe('no changes');
    expect(diffVersions(a, b, plugins).changes).toEqual({});
    // A restore counts timestamps (so the restored snapshot's hash is the version's).
    expect(diffConfigs(a, b, { timestamps: true }).changed).toBe(true);
  });
});

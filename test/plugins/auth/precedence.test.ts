import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Plugin } from '@gatehouse/shared';
import { call, consumer, plugin, startGateway, type Gateway, type SeenRequest } from './helpers.js';

const examples = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../examples/plugins');
const now = Math.floor(Date.now() / 1000);

const R = { route: { id: 'r' } };
const S = { service: { id: 'svc' } };
const C = { consumer: { id: 'alice' } };
const G = { consumer_group: { id: 'gold' } };

/** Kong's order, most specific first. */
const SCOPES: [string, Partial<Plugin>][] = [
  ['consumer+route+service', { ...C, ...R, ...S }],
  ['consumer_group+route+service', { ...G, ...R, ...S }],
  ['consumer+route', { ...C, ...R }],
  ['consumer+service', { ...C, ...S }],
  ['consumer_group+route', { ...G, ...R }],
  ['consumer_group+service', { ...G, ...S }],
  ['route+service', { ...R, ...S }],
  ['consumer', C],
  ['consumer_group', G],
  ['route', R],
  ['service', S],
  ['global', {}],
];

describe('plugin scope precedence (real ProxyServer, custom plugin from examples/plugins)', () => {
  let gw: Gateway;
  beforeAll(async () => {
    gw = await startGateway({ customDirs: [examples] });
  });
  afterAll(async () => {
    await gw.close();
  });

  const entities = (stamps: Plugin[]) => ({
    consumers: [consumer('alice'), consumer('bob')],
    consumer_groups: [{ id: 'gold', name: 'gold', tags: null, created_at: now, updated_at: now }],
    consumer_group_consumers: [
      { id: 'm1', consumer_group: { id: 'gold' }, consumer: { id: 'alice' }, created_at: now },
    ],
    keyauth_credentials: [
      { id: 'ka', consumer: { id: 'alice' }, key: 'alice-key', ttl: null, tags: null, created_at: now },
      { id: 'kb', consumer: { id: 'bob' }, key: 'bob-key', ttl: null, tags: null, created_at: now },
    ],
    plugins: [plugin('key-auth', {}), ...stamps],
  });

  const stampFor = async (key: string): Promise<string | undefined> => {
    const r = await call(gw.port, '/x', { headers: { apikey: key } });
    expect(r.status).toBe(200);
    return r.json<SeenRequest>().headers['x-stamp'] as string | undefined;
  };

  for (let i = 0; i < SCOPES.length; i++) {
    const [name] = SCOPES[i]!;
    const below = SCOPES.slice(i + 1).map(([n]) => n);
    it(`uses the ${name} instance over ${below.length === 0 ? 'nothing else' : below.join(', ')}`, async () => {
      gw.apply(entities(SCOPES.slice(i).map(([value, scope]) => plugin('stamp', { value }, scope))));
      expect(await stampFor('alice-key')).toBe(name);
    });
  }

  it('gives a consumer outside the scoped consumer and group the consumer-independent instance', async () => {
    gw.apply(entities(SCOPES.map(([value, scope]) => plugin('stamp', { value }, scope))));
    expect(await stampFor('bob-key')).toBe('route+service');
    gw.apply(entities(SCOPES.slice(7).map(([value, scope]) => plugin('stamp', { value }, scope))));
    expect(await stampFor('bob-key')).toBe('route');
  });

  it('ignores a disabled instance and falls back to the next scope', async () => {
    gw.apply(
      entities([
        plugin('stamp', { value: 'route' }, { ...R, enabled: false }),
        plugin('stamp', { value: 'global' }, {}),
      ]),
    );
    expect(await stampFor('alice-key')).toBe('global');
  });

  it('skips an instance whose protocols do not include the request protocol', async () => {
    gw.apply(entities([plugin('stamp', { value: 'https-only' }, { protocols: ['https'] })]));
    expect(await stampFor('alice-key')).toBeUndefined();
  });

  it('runs the response phase: the stamp is on the response too', async () => {
    gw.apply(entities([plugin('stamp', { value: 'resp' }, {})]));
    const r = await call(gw.port, '/x', { headers: { apikey: 'alice-key' } });
    expect(r.headers['x-stamp']).toBe('resp');
  });

  it('refuses a configuration whose plugin config is invalid and keeps the old one', async () => {
    gw.apply(entities([plugin('stamp', { value: 'kept' }, {})]));
    expect(() => gw.apply(entities([plugin('stamp', {}, {})]))).toThrow(/cannot be initialised|value/);
    expect(await stampFor('alice-key')).toBe('kept');
  });

  it('refuses a configuration with a plugin this node does not have', () => {
    expect(() => gw.apply(entities([plugin('no-such-plugin', {}, {})]))).toThrow(/not available/);
  });
});

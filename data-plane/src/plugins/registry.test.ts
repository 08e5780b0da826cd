import { describe, expect, expectTypeOf, it } from 'vitest';
import { kongErrorBody, schema } from '@gatehouse/shared';
import { definePlugin, type PluginContext } from './api.js';
import { BUNDLED_PLUGINS, loadPluginRegistry } from './registry.js';
import { BUNDLED_SPECS } from './schemas.js';

describe('plugin registry', () => {
  it('loads the bundled auth plugins with Kong priorities', async () => {
    const registry = await loadPluginRegistry();
    const byName = new Map(registry.list().map((p) => [p.name, p]));
    expect(byName.get('key-auth')).toEqual({
      name: 'key-auth',
      version: '1.0.0',
      priority: 1250,
      phases: ['access'],
    });
    expect(byName.get('basic-auth')?.priority).toBe(1100);
    expect(byName.get('hmac-auth')?.priority).toBe(1030);
    expect(byName.get('jwt')?.priority).toBe(1450);
    expect(byName.get('openid-connect')?.priority).toBe(1050);
    expect(byName.get('oauth2-introspection')?.priority).toBe(1700);
    expect(byName.get('ldap-auth')?.priority).toBe(1200);
    expect(registry.pluginInfos().map((p) => p.name)).toEqual(BUNDLED_SPECS.map((s) => s.name).sort());
  });

  it('fills defaults of a plugin config', async () => {
    const registry = await loadPluginRegistry();
    expect(registry.validateConfig('key-auth', {})).toEqual({
      key_names: ['apikey'],
      hide_credentials: false,
      anonymous: null,
      key_in_header: true,
      key_in_query: true,
      key_in_body: false,
      run_on_preflight: true,
      realm: null,
    });
  });

  it("names each bad field under config, as Kong's schema violation", async () => {
    const registry = await loadPluginRegistry();
    let body;
    try {
      registry.validateConfig('key-auth', { key_names: 'apikey', hide_credentials: 1 });
    } catch (e) {
      body = kongErrorBody(e);
    }
    expect(body).toMatchObject({
      code: 2,
      name: 'schema violation',
      fields: { config: { key_names: 'expected an array', hide_credentials: 'expected a boolean' } },
    });
  });

  it('refuses an unknown plugin name and a consumer-scoped auth plugin', async () => {
    const registry = await loadPluginRegistry();
    expect(() => registry.validateConfig('nope', {})).toThrow(/plugin 'nope' not enabled/);
    let body;
    try {
      registry.validateConfig('key-auth', {}, { consumer: { id: 'c' }, protocols: ['http', 'udp'] });
    } catch (e) {
      body = kongErrorBody(e);
    }
    expect(body?.fields).toEqual({
      consumer: 'value must be null',
      protocols: [null, 'expected one of: grpc, grpcs, http, https, ws, wss'],
    });
  });

  it("describes a plugin as Kong's GET /schemas/plugins/{name}", async () => {
    const registry = await loadPluginRegistry();
    const json = registry.describe('key-auth') as { fields: Record<string, { fields?: unknown[] }>[] };
    expect(json.fields.map((f) => Object.keys(f)[0])).toEqual([
      'consumer',
      'consumer_group',
      'protocols',
      'config',
    ]);
    const config = json.fields[3]!.config!;
    expect(config.fields![0]).toMatchObject({
      key_names: { type: 'array', default: ['apikey'], required: true },
    });
    expect(registry.describe('nope')).toBeUndefined();
  });
});

describe('plugin handlers loaded on demand', () => {
  it('knows every bundled plugin without loading a handler, and loads those asked for', async () => {
    const registry = await loadPluginRegistry({ handlers: 'on-demand' });
    expect(registry.has('key-auth')).toBe(true);
    expect(registry.spec('key-auth')?.priority).toBe(1250);
    expect(registry.validateConfig('key-auth', {})).toMatchObject({ key_names: ['apikey'] });
    expect(registry.isLoaded('key-auth')).toBe(false);
    expect(() => registry.get('key-auth')).toThrow(/handlers were not loaded/);
    expect(registry.get('nope')).toBeUndefined();
    await registry.load(['key-auth', 'key-auth', 'nope']);
    expect(registry.isLoaded('key-auth')).toBe(true);
    expect(registry.isLoaded('jwt')).toBe(false);
    expect(typeof registry.get('key-auth')?.access).toBe('function');
    expect(registry.list().find((p) => p.name === 'jwt')?.phases).toEqual([]);
  });

  it('has custom plugins loaded from the start', async () => {
    const custom = definePlugin({
      name: 'custom-one',
      version: '1.0.0',
      priority: 1,
      schema: schema.t.record({}, { required: true }),
      access() {},
    });
    const { PluginRegistry } = await import('./registry.js');
    const registry = new PluginRegistry([custom]);
    expect(registry.get('custom-one')).toBe(custom);
    expect(registry.isLoaded('custom-one')).toBe(true);
  });
});

describe('bundled plugin map and config types (type-level: a wrong line fails the typecheck)', () => {
  it('has one module per bundled spec, whose definition has its own name', async () => {
    expect(Object.keys(BUNDLED_PLUGINS).sort()).toEqual(BUNDLED_SPECS.map((s) => s.name).sort());
    for (const [name, load] of Object.entries(BUNDLED_PLUGINS))
      expect((await load()).default.name).toBe(name);
    const { jwt: _left, ...rest } = BUNDLED_PLUGINS;
    // @ts-expect-error -- a bundled plugin missing from the map
    const missing: typeof BUNDLED_PLUGINS = rest;
    // @ts-expect-error -- a module under another plugin's name
    const swapped: typeof BUNDLED_PLUGINS = { ...BUNDLED_PLUGINS, jwt: BUNDLED_PLUGINS['key-auth'] };
    expect([missing, swapped]).toHaveLength(2);
  });

  it('infers the config of init and the state of handlers from the schema', () => {
    const def = definePlugin({
      name: 'typed',
      version: '1.0.0',
      priority: 1,
      schema: schema.t.record(
        {
          limit: schema.t.integer({ required: true, default: 10 }),
          mode: schema.t.string({ one_of: ['a', 'b'] }),
          names: schema.t.array(schema.t.string(), { default: [] }),
        },
        { required: true },
      ),
      init(config) {
        expectTypeOf(config).toEqualTypeOf<{ limit: number; mode: 'a' | 'b' | null; names: string[] }>();
        // @ts-expect-error -- no such field
        void config.limits;
        return { max: config.limit };
      },
      access(ctx: PluginContext, state) {
        expectTypeOf(state).toEqualTypeOf<{ max: number }>();
        // @ts-expect-error -- the state has no `limit`
        void state.limit;
        if (state.max < 0) ctx.respond(500);
      },
    });
    expect(def.init!({ limit: 3, mode: null, names: [] }, {} as never)).toEqual({ max: 3 });
  });
});

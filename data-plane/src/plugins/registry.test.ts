import { describe, expect, it } from 'vitest';
import { kongErrorBody } from '@gatehouse/shared';
import { BUNDLED_PLUGINS, loadPluginRegistry } from './registry.js';

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
    expect(registry.pluginInfos().every((p) => (BUNDLED_PLUGINS as readonly string[]).includes(p.name))).toBe(
      true,
    );
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

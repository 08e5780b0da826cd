/**
 * oauth2 without token_signing_secrets needs the control plane's keys: a DB-less config (no
 * `_oauth2_signing_keys`) is refused when compiled, naming the plugin and the field; a CP
 * snapshot with the member compiles.
 */
import { describe, expect, it } from 'vitest';
import { completeConfig, createLogger, toConfig, type GatehouseConfig, type Plugin } from '@gatehouse/shared';
import { compileRuntime } from '../../runtime/compile-runtime.js';
import { loadPluginRegistry } from '../registry.js';

const logger = createLogger('oauth2-dbless-test', { level: 'silent' });

const plugin = (config: Record<string, unknown>): Plugin => ({
  id: '00000000-0000-4000-8000-0000000000a1',
  name: 'oauth2',
  instance_name: null,
  config: { provision_key: 'pk', enable_client_credentials: true, ...config },
  protocols: ['http', 'https'],
  enabled: true,
  service: null,
  route: null,
  consumer: null,
  consumer_group: null,
  tags: null,
  created_at: 1,
  updated_at: 1,
});

describe('plugin oauth2 (DB-less)', () => {
  it('refuses an instance without token_signing_secrets in a config with no control plane keys', async () => {
    const registry = await loadPluginRegistry();
    const config = completeConfig({ plugins: [plugin({})] });
    expect(() => compileRuntime(config, registry, { logger })).toThrow(
      /plugin 'oauth2' \(00000000-0000-4000-8000-0000000000a1\) cannot be initialised: token_signing_secrets is required without a control plane \(DB-less mode\)/,
    );
  });

  it('compiles with token_signing_secrets, or with the keys a control plane sent', async () => {
    const registry = await loadPluginRegistry();
    const withSecrets = completeConfig({ plugins: [plugin({ token_signing_secrets: ['s'.repeat(32)] })] });
    expect(() => compileRuntime(withSecrets, registry, { logger })).not.toThrow();
    const fromCp = {
      ...completeConfig({ plugins: [plugin({})] }),
      _oauth2_signing_keys: { keys: [] },
    } as GatehouseConfig;
    expect(() => compileRuntime(fromCp, registry, { logger })).not.toThrow();
  });

  it('generates provision_key when a DB-less file leaves it out (as Kong), keeps one it gives', async () => {
    const registry = await loadPluginRegistry();
    const file = (config: Record<string, unknown>) => ({
      _format_version: '3.0',
      plugins: [{ name: 'oauth2', config: { enable_client_credentials: true, ...config } }],
    });
    const generated = toConfig(file({}), { plugins: registry });
    expect(generated.config.plugins[0]!.config.provision_key).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(generated.generated).toEqual([
      { kind: 'plugins', id: generated.config.plugins[0]!.id, field: 'config.provision_key' },
    ]);
    const given = toConfig(file({ provision_key: 'pk-given' }), { plugins: registry });
    expect(given.config.plugins[0]!.config.provision_key).toBe('pk-given');
    expect(given.generated).toEqual([]);
  });
});

import { describe, expect, it } from 'vitest';
import {
  completeConfig,
  createLogger,
  ROUTE_DEFAULTS,
  SERVICE_DEFAULTS,
  schema,
  type Plugin,
} from '@gatehouse/shared';
import { definePlugin, type PluginContext } from '../api.js';
import { PluginRegistry } from '../registry.js';
import { compilePlugins } from './compile.js';
import { outcome, pluginRequest } from './test-support.js';
import { runPhase } from './phases.js';
import { applyUpstreamHeaders, filterQuery } from './phases.js';

const calls: string[] = [];
const make = (name: string, priority: number, asyncAccess = false) =>
  definePlugin({
    name,
    version: '1.0.0',
    priority,
    schema: schema.t.record({}, { required: true }),
    access(ctx: PluginContext) {
      calls.push(name);
      if (name === 'stopper') ctx.respond(403, 'Forbidden');
      if (asyncAccess) return Promise.resolve();
    },
  });

const registry = new PluginRegistry([
  make('a', 10),
  make('b', 10),
  make('hi', 100, true),
  make('stopper', 5),
  make('low', 1),
]);

const plugin = (name: string, scope: Partial<Plugin> = {}): Plugin => ({
  id: `${name}-${JSON.stringify(scope)}`,
  name,
  instance_name: null,
  config: {},
  protocols: ['http', 'https'],
  enabled: true,
  service: null,
  route: null,
  consumer: null,
  consumer_group: null,
  tags: null,
  created_at: 0,
  updated_at: 0,
  ...scope,
});

const config = (plugins: Plugin[]) =>
  completeConfig({
    services: [{ ...SERVICE_DEFAULTS, id: 's', name: 's', host: 'h', created_at: 0, updated_at: 0 }],
    routes: [
      {
        ...ROUTE_DEFAULTS,
        id: 'r',
        name: 'r',
        paths: ['/'],
        service: { id: 's' },
        created_at: 0,
        updated_at: 0,
      },
      {
        ...ROUTE_DEFAULTS,
        id: 'bare',
        name: 'bare',
        paths: ['/b'],
        service: null,
        created_at: 0,
        updated_at: 0,
      },
    ],
    plugins,
  });
const logger = createLogger('t', { level: 'silent' });

describe('plugin runtime', () => {
  it('compiles nothing for a configuration without enabled plugins (the fast path)', () => {
    expect(compilePlugins(config([]), registry, logger)).toBeNull();
    expect(compilePlugins(config([plugin('a', { enabled: false })]), registry, logger)).toBeNull();
  });

  it('orders a phase by priority (higher first), ties by name', () => {
    const compiled = compilePlugins(
      config([plugin('low'), plugin('b'), plugin('a'), plugin('hi')]),
      registry,
      logger,
    )!;
    expect(compiled.chains.get('r')!.access!.map((s) => s.name)).toEqual(['hi', 'a', 'b', 'low']);
  });

  it('gives a route only the plugins scoped to it, its service or global', () => {
    const compiled = compilePlugins(
      config([plugin('a', { service: { id: 's' } }), plugin('b', { route: { id: 'other' } })]),
      registry,
      logger,
    )!;
    expect(compiled.chains.get('r')!.access!.map((s) => s.name)).toEqual(['a']);
    expect(compiled.chains.has('bare')).toBe(false);
  });

  it('runs synchronously when no handler returns a promise, and stops after respond', () => {
    const compiled = compilePlugins(
      config([plugin('a'), plugin('stopper'), plugin('low')]),
      registry,
      logger,
    )!;
    calls.length = 0;
    const ctx = pluginRequest(compiled.snapshot);
    expect(runPhase(ctx, compiled.chains.get('r')!.access, 'access')).toBeUndefined();
    expect(calls).toEqual(['a', 'stopper']);
    expect(outcome(ctx).answer?.status).toBe(403);
  });

  it('awaits only the thenable handlers and continues after them', async () => {
    const compiled = compilePlugins(config([plugin('hi'), plugin('a')]), registry, logger)!;
    calls.length = 0;
    const r = runPhase(pluginRequest(compiled.snapshot), compiled.chains.get('r')!.access, 'access');
    expect(r).toBeInstanceOf(Promise);
    expect(calls).toEqual(['hi']);
    await r;
    expect(calls).toEqual(['hi', 'a']);
  });

  it('refuses a snapshot naming an unknown plugin or one whose config is invalid', () => {
    expect(() => compilePlugins(config([plugin('nope')]), registry, logger)).toThrow(/not available/);
    expect(() => compilePlugins(config([{ ...plugin('a'), config: { x: 1 } }]), registry, logger)).toThrow(
      /cannot be initialised/,
    );
    expect(() => compilePlugins(config([plugin('a')]), null, logger)).toThrow(/no plugin registry/);
  });

  it('sets or clears every consumer header on authenticate, so clients cannot spoof them', () => {
    const compiled = compilePlugins(config([plugin('a')]), registry, logger)!;
    const ctx = pluginRequest(compiled.snapshot);
    ctx.authenticate(
      { id: 'c', username: null, custom_id: 'x', tags: null, created_at: 0, updated_at: 0 },
      null,
      {
        anonymous: true,
      },
    );
    expect(outcome(ctx).upstreamHeaders).toEqual({
      'x-consumer-id': 'c',
      'x-consumer-custom-id': 'x',
      'x-consumer-username': null,
      'x-consumer-groups': null,
      'x-credential-identifier': null,
      'x-anonymous-consumer': 'true',
      // Kong's other auth-set identity headers: a client's own never passes an auth plugin.
      'x-authenticated-groups': null,
      'x-authenticated-scope': null,
      'x-authenticated-userid': null,
      'x-credential-username': null,
      'x-anonymous-groups': null,
    });
  });

  it('applies a plugin header change to the client underscore twin too (X_Consumer_ID)', () => {
    const compiled = compilePlugins(config([plugin('a')]), registry, logger)!;
    const ctx = pluginRequest(compiled.snapshot);
    ctx.authenticate(
      { id: 'c', username: 'u', custom_id: null, tags: null, created_at: 0, updated_at: 0 },
      null,
    );
    const headers = ['X_Consumer_ID', 'forged', 'x_authenticated_scope', 'all', 'X_Other', 'kept'];
    expect(applyUpstreamHeaders(headers, ctx)).toEqual(
      expect.arrayContaining(['X_Other', 'kept', 'x-consumer-id', 'c', 'x-consumer-username', 'u']),
    );
    expect(headers).not.toContain('X_Consumer_ID');
    expect(headers).not.toContain('x_authenticated_scope');
  });

  it('removes query arguments by decoded name and keeps the others as sent', () => {
    expect(filterQuery('apikey=s&a=1&api%6Bey=t&b', new Set(['apikey']))).toBe('a=1&b');
  });
});

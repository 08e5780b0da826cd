import fc from 'fast-check';
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
import { applyResponseHeaders, applyUpstreamHeaders, filterQuery } from './phases.js';
import { IDENTITY_HEADERS } from './context.js';
import { lowerName } from './header-names.js';

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

  it("records only the identity headers authenticate sets: the client's others go by one flag", () => {
    const compiled = compilePlugins(config([plugin('a')]), registry, logger)!;
    const ctx = pluginRequest(compiled.snapshot);
    ctx.setUpstreamHeader('X-Authenticated-Scope', 'set-before');
    ctx.authenticate(
      { id: 'c', username: 'u', custom_id: null, tags: null, created_at: 0, updated_at: 0 },
      { id: 'k', type: 'key-auth', identifier: 'k', consumerId: 'c' },
    );
    expect([...ctx.upstreamHeaders!.keys()]).toEqual([
      'x-authenticated-scope',
      'x-consumer-id',
      'x-consumer-username',
      'x-credential-identifier',
    ]);
    const headers = ['host', 'h', 'X-Consumer-Custom-ID', 'forged', 'x-authenticated-scope', 'forged'];
    expect(applyUpstreamHeaders(headers, ctx)).toEqual([
      'host',
      'h',
      'x-authenticated-scope',
      'set-before',
      'x-consumer-id',
      'c',
      'x-consumer-username',
      'u',
      'x-credential-identifier',
      'k',
    ]);
  });

  // Header names as clients and upstreams send them: any case, underscore twins, lengths that
  // collide modulo 32 (the length filter), and arbitrary strings.
  const KNOWN = [...IDENTITY_HEADERS, 'host', 'content-type', 'x-ratelimit-limit-minute', 'ratelimit-reset'];
  const headerName = fc.oneof(
    fc
      .constantFrom(...KNOWN)
      .chain((n) =>
        fc
          .array(fc.boolean(), { minLength: n.length, maxLength: n.length })
          .map((up) => [...n].map((ch, i) => (up[i] ? ch.toUpperCase() : ch)).join('')),
      ),
    fc.constantFrom(...KNOWN).map((n) => n.replaceAll('-', '_')),
    fc.constantFrom(...KNOWN).map((n) => `${n}${'x'.repeat(32)}`),
    fc.string({ maxLength: 40 }),
  );
  const headerArray = fc
    .array(fc.tuple(headerName, fc.string({ maxLength: 8 })), { maxLength: 12 })
    .map((pairs) => pairs.flat());
  const op = fc.tuple(headerName, fc.option(fc.string({ maxLength: 8 })));

  /** The header changes as the runtime applied them before the length filter (a reference). */
  function reference(headers: string[], ops: Map<string, string | null>, identity: boolean): string[] {
    const drop = (lower: string) => ops.has(lower) || (identity && IDENTITY_HEADERS.has(lower));
    const out: string[] = [];
    for (let i = 0; i < headers.length; i += 2) {
      const lower = headers[i]!.toLowerCase();
      if (!drop(lower) && !(lower.includes('_') && drop(lower.replaceAll('_', '-'))))
        out.push(headers[i]!, headers[i + 1]!);
    }
    for (const [name, value] of ops) if (value !== null) out.push(name, value);
    return out;
  }

  it('property: upstream header changes drop exactly the names a plain lower-cased compare drops', () => {
    const compiled = compilePlugins(config([plugin('a')]), registry, logger)!;
    fc.assert(
      fc.property(headerArray, fc.array(op, { maxLength: 6 }), fc.boolean(), (headers, ops, auth) => {
        const ctx = pluginRequest(compiled.snapshot);
        if (auth) ctx.authenticate(null, null, { anonymous: true });
        for (const [name, value] of ops)
          if (value === null) ctx.removeUpstreamHeader(name);
          else ctx.setUpstreamHeader(name, value);
        const expected = reference(
          ['x', 'y', ...headers], // no Host in slot 0: nothing taken in place
          new Map([...(ctx.upstreamHeaders ?? [])] as [string, string | null][]),
          auth,
        );
        expect(applyUpstreamHeaders(['x', 'y', ...headers], ctx)).toEqual(expected);
      }),
      { examples: [[['X_Consumer_ID', 'f', 'x-consumer-id' + 'x'.repeat(32), 'kept'], [], true]] },
    );
  });

  it('property: response header changes replace exactly the names a plain lower-cased compare replaces', () => {
    const compiled = compilePlugins(config([plugin('a')]), registry, logger)!;
    fc.assert(
      fc.property(headerArray, fc.array(op, { maxLength: 6 }), (headers, ops) => {
        const ctx = pluginRequest(compiled.snapshot);
        const last = new Map<string, { name: string; value: string | null }>();
        for (const [name, value] of ops) {
          if (value === null) ctx.removeResponseHeader(name);
          else ctx.setResponseHeader(name, value);
          last.set(name.toLowerCase(), { name: last.get(name.toLowerCase())?.name ?? name, value });
        }
        const expected: string[] = [];
        for (let i = 0; i < headers.length; i += 2)
          if (!last.has(headers[i]!.toLowerCase())) expected.push(headers[i]!, headers[i + 1]!);
        for (const [lower, { value }] of last)
          if (value !== null) expected.push(ctx.responseHeaders!.get(lower)!.name, value);
        expect(applyResponseHeaders([...headers], ctx)).toEqual(expected);
      }),
    );
  });

  it('property: lowerName is toLowerCase, for any name and however many', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ maxLength: 100 }), { maxLength: 50 }), (names) => {
        for (const n of names) expect(lowerName(n)).toBe(n.toLowerCase());
      }),
    );
  });
});

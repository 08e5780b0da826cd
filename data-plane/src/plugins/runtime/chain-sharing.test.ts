import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  completeConfig,
  createLogger,
  ROUTE_DEFAULTS,
  schema,
  SERVICE_DEFAULTS,
  type Plugin,
  type Route,
} from '@gatehouse/shared';
import { definePlugin } from '../api.js';
import { PluginRegistry } from '../registry.js';
import { compilePlugins, type Chain } from './compile.js';

const logger = createLogger('t', { level: 'silent' });
const registry = new PluginRegistry(
  ['a', 'b'].map((name, i) =>
    definePlugin({
      name,
      version: '1.0.0',
      priority: 10 + i,
      schema: schema.t.record({}, { required: true }),
      access() {},
    }),
  ),
);

const SERVICES = ['s1', 's2', 's3'];
const ROUTES: [string, string | null][] = [
  ['r1', 's1'],
  ['r2', 's1'],
  ['r3', 's2'],
  ['r4', 's3'],
  ['r5', null],
];

const route = ([id, service]: [string, string | null]): Route => ({
  ...ROUTE_DEFAULTS,
  id,
  name: id,
  paths: [`/${id}`],
  service: service === null ? null : { id: service },
  created_at: 0,
  updated_at: 0,
});

const config = (plugins: Plugin[], routes = ROUTES) =>
  completeConfig({
    services: SERVICES.map((id) => ({
      ...SERVICE_DEFAULTS,
      id,
      name: id,
      host: 'h',
      created_at: 0,
      updated_at: 0,
    })),
    routes: routes.map(route),
    consumers: ['c1', 'c2'].map((id) => ({
      id,
      username: id,
      custom_id: null,
      tags: null,
      created_at: 0,
      updated_at: 0,
    })),
    plugins,
  });

const plugin = (id: string, name: string, scope: Partial<Plugin>): Plugin => ({
  id,
  name,
  instance_name: null,
  config: {},
  protocols: ['http', 'https'],
  enabled: true,
  route: null,
  service: null,
  consumer: null,
  consumer_group: null,
  tags: null,
  created_at: 0,
  updated_at: 0,
  ...scope,
});

/** What a chain runs, as data (instance ids per slot and level). */
const shape = (chain: Chain | undefined) =>
  chain === undefined
    ? null
    : chain.access?.map((slot) => ({
        name: slot.name,
        base: slot.base?.plugin.id ?? null,
        before: slot.before?.map((l) => ({
          byGroup: l.byGroup,
          map: [...l.map].map(([k, i]) => [k, i.plugin.id]),
        })),
      }));

const scoped = fc.record({
  name: fc.constantFrom('a', 'b'),
  route: fc.option(fc.constantFrom('r1', 'r2', 'r3', 'r4', 'r5', 'gone'), { nil: null }),
  service: fc.option(fc.constantFrom('s1', 's2', 's3'), { nil: null }),
  consumer: fc.option(fc.constantFrom('c1', 'c2'), { nil: null }),
});

describe('plugin chains shared between routes', () => {
  it('gives every route the chain it gets when compiled alone', () => {
    fc.assert(
      fc.property(fc.array(scoped, { maxLength: 8 }), (scopes) => {
        const plugins = scopes.map((s, i) =>
          plugin(`p${i}`, s.name, {
            route: s.route === null ? null : { id: s.route },
            service: s.service === null ? null : { id: s.service },
            consumer: s.consumer === null ? null : { id: s.consumer },
          }),
        );
        const all = compilePlugins(config(plugins), registry, logger);
        for (const r of ROUTES) {
          const alone = compilePlugins(config(plugins, [r]), registry, logger);
          expect(shape(all?.chains.get(r[0]))).toEqual(shape(alone?.chains.get(r[0])));
        }
      }),
      { numRuns: 300 },
    );
  });

  it('compiles one chain for the routes no instance is scoped to, one per scoped service', () => {
    const compiled = compilePlugins(
      config([
        plugin('global', 'a', {}),
        plugin('on-s2', 'b', { service: { id: 's2' } }),
        plugin('on-r2', 'b', { route: { id: 'r2' } }),
      ]),
      registry,
      logger,
    )!;
    const chain = (id: string) => compiled.chains.get(id);
    expect(chain('r1')).toBe(chain('r4'));
    expect(chain('r1')).toBe(chain('r5'));
    expect(chain('r2')).not.toBe(chain('r1'));
    expect(chain('r3')).not.toBe(chain('r1'));
    expect(shape(chain('r3'))!.map((s) => s.base)).toEqual(['on-s2', 'global']);
    expect(shape(chain('r2'))!.map((s) => s.base)).toEqual(['on-r2', 'global']);
    expect(shape(chain('r1'))!.map((s) => s.base)).toEqual(['global']);
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { GatehouseConfig } from '../config/model.js';
import { emptyConfig, ENTITIES } from '../entities/registry.js';
import { labelTag, parseScopeTag, regionTag, scopeOf, scopeTagError } from './scope.js';
import { configSliceKey, scopeUniverse, sliceConfig, sliceKeyOf } from './slice.js';
import { parseLabel, placementError, type NodePlacement } from './node.js';

const EU = regionTag('eu');
const US = regionTag('us');
const GOLD = labelTag('tier', 'gold');

/** A config from short specs: services s1.., routes r1.. (service), plugins, upstreams, targets. */
function config(spec: {
  services?: { id: string; tags?: string[]; host?: string }[];
  routes?: { id: string; service?: string; tags?: string[] }[];
  plugins?: { id: string; service?: string; route?: string; tags?: string[] }[];
  upstreams?: { id: string; name: string; tags?: string[] }[];
  targets?: { id: string; upstream: string; tags?: string[] }[];
}): GatehouseConfig {
  const c = emptyConfig() as unknown as Record<string, unknown[]>;
  c.services = (spec.services ?? []).map((s) => ({
    id: s.id,
    host: s.host ?? 'example.com',
    tags: s.tags ?? null,
  }));
  c.routes = (spec.routes ?? []).map((r) => ({
    id: r.id,
    service: r.service ? { id: r.service } : null,
    tags: r.tags ?? null,
  }));
  c.plugins = (spec.plugins ?? []).map((p) => ({
    id: p.id,
    name: 'cors',
    service: p.service ? { id: p.service } : null,
    route: p.route ? { id: p.route } : null,
    consumer: null,
    consumer_group: null,
    tags: p.tags ?? null,
  }));
  c.upstreams = (spec.upstreams ?? []).map((u) => ({ id: u.id, name: u.name, tags: u.tags ?? null }));
  c.targets = (spec.targets ?? []).map((t) => ({
    id: t.id,
    upstream: { id: t.upstream },
    tags: t.tags ?? null,
  }));
  return c as unknown as GatehouseConfig;
}

const ids = (c: GatehouseConfig) =>
  Object.fromEntries(
    (['services', 'routes', 'plugins', 'upstreams', 'targets'] as const).map((k) => [
      k,
      (c[k] as { id: string }[]).map((e) => e.id).sort(),
    ]),
  );

const at = (region: string, labels: Record<string, string> = {}): NodePlacement => ({ region, labels });

describe('slicing rules', () => {
  const cases: {
    name: string;
    cfg: Parameters<typeof config>[0];
    node: NodePlacement;
    kept: Partial<Record<'services' | 'routes' | 'plugins' | 'upstreams' | 'targets', string[]>>;
  }[] = [
    {
      name: 'an unscoped entity goes everywhere',
      cfg: { services: [{ id: 's1' }], routes: [{ id: 'r1', service: 's1' }] },
      node: at(''),
      kept: { services: ['s1'], routes: ['r1'] },
    },
    {
      name: 'a route scoped to eu is kept on an eu DP',
      cfg: { services: [{ id: 's1' }], routes: [{ id: 'r1', service: 's1', tags: [EU] }] },
      node: at('eu'),
      kept: { services: ['s1'], routes: ['r1'] },
    },
    {
      name: 'a route scoped to eu is left out on a us DP; its unscoped service stays',
      cfg: { services: [{ id: 's1' }], routes: [{ id: 'r1', service: 's1', tags: [EU] }] },
      node: at('us'),
      kept: { services: ['s1'], routes: [] },
    },
    {
      name: 'a route scoped to eu is left out on a DP with no region',
      cfg: { services: [{ id: 's1' }], routes: [{ id: 'r1', service: 's1', tags: [EU] }] },
      node: at(''),
      kept: { services: ['s1'], routes: [] },
    },
    {
      name: 'routes of a left-out service go with it, and plugins on them',
      cfg: {
        services: [{ id: 's1', tags: [EU] }],
        routes: [{ id: 'r1', service: 's1' }],
        plugins: [{ id: 'p-route', route: 'r1' }, { id: 'p-service', service: 's1' }, { id: 'p-global' }],
      },
      node: at('us'),
      kept: { services: [], routes: [], plugins: ['p-global'] },
    },
    {
      name: 'a plugin on a kept route but scoped elsewhere is left out; a global scoped plugin too',
      cfg: {
        services: [{ id: 's1' }],
        routes: [{ id: 'r1', service: 's1' }],
        plugins: [
          { id: 'p-eu', route: 'r1', tags: [EU] },
          { id: 'p-us', route: 'r1', tags: [US] },
          { id: 'g-eu', tags: [EU] },
        ],
      },
      node: at('us'),
      kept: { services: ['s1'], routes: ['r1'], plugins: ['p-us'] },
    },
    {
      name: 'several region tags: any of them',
      cfg: { routes: [{ id: 'r1', tags: [EU, US] }] },
      node: at('us'),
      kept: { routes: ['r1'] },
    },
    {
      name: 'region and label: both must match',
      cfg: {
        routes: [
          { id: 'r1', tags: [EU, GOLD] },
          { id: 'r2', tags: [EU] },
        ],
      },
      node: at('eu', { tier: 'silver' }),
      kept: { routes: ['r2'] },
    },
    {
      name: 'region and label both matching',
      cfg: { routes: [{ id: 'r1', tags: [EU, GOLD] }] },
      node: at('eu', { tier: 'gold', zone: 'a' }),
      kept: { routes: ['r1'] },
    },
    {
      name: 'values of one label key: any of them; different keys: all',
      cfg: {
        routes: [
          { id: 'r1', tags: [labelTag('tier', 'gold'), labelTag('tier', 'silver')] },
          { id: 'r2', tags: [labelTag('tier', 'silver'), labelTag('zone', 'b')] },
        ],
      },
      node: at('', { tier: 'silver', zone: 'a' }),
      kept: { routes: ['r1'] },
    },
    {
      name: 'targets of a left-out upstream go with it; a service whose host is its name too',
      cfg: {
        upstreams: [
          { id: 'u1', name: 'eu-backend', tags: [EU] },
          { id: 'u2', name: 'shared' },
        ],
        targets: [
          { id: 't1', upstream: 'u1' },
          { id: 't2', upstream: 'u2' },
          { id: 't3', upstream: 'u2', tags: [EU] },
        ],
        services: [
          { id: 's1', host: 'eu-backend' },
          { id: 's2', host: 'shared' },
        ],
        routes: [
          { id: 'r1', service: 's1' },
          { id: 'r2', service: 's2' },
        ],
      },
      node: at('us'),
      kept: { upstreams: ['u2'], targets: ['t2'], services: ['s2'], routes: ['r2'] },
    },
    {
      name: 'an invalid reserved tag keeps the entity out everywhere (fail closed)',
      cfg: {
        routes: [
          { id: 'r1', tags: ['gatehouse:regoin=eu'] },
          { id: 'r2', tags: ['team-a'] },
        ],
      },
      node: at('eu'),
      kept: { routes: ['r2'] },
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const got = ids(sliceConfig(config(c.cfg), c.node));
      for (const [kind, want] of Object.entries(c.kept)) expect(got[kind], kind).toEqual([...want].sort());
    });
  }

  it('leaves the input alone and returns it as is when nothing is scoped', () => {
    const cfg = config({ services: [{ id: 's1' }], routes: [{ id: 'r1', service: 's1' }] });
    expect(sliceConfig(cfg, at('eu'))).toBe(cfg);
    const scoped = config({ routes: [{ id: 'r1', tags: [EU] }] });
    const before = JSON.stringify(scoped);
    sliceConfig(scoped, at('us'));
    expect(JSON.stringify(scoped)).toBe(before);
  });
});

describe('slice keys', () => {
  it("is 'default' with no region and no labels, stable whatever the label order", () => {
    expect(sliceKeyOf('', {})).toBe('default');
    expect(sliceKeyOf(null)).toBe('default');
    expect(sliceKeyOf('eu', { b: '2', a: '1' })).toBe('region=eu/label=a=1/label=b=2');
    expect(sliceKeyOf('eu', { a: '1', b: '2' })).toBe(sliceKeyOf('eu', { b: '2', a: '1' }));
    expect(sliceKeyOf('', { a: '1' })).toBe('label=a=1');
  });

  it("is 'default' for every DP of a config without scope tags", () => {
    const u = scopeUniverse(config({ routes: [{ id: 'r1', tags: ['team-a'] }] }));
    expect(configSliceKey(u, at('eu', { tier: 'gold' }))).toBe('default');
  });

  it('tells DPs apart only by what the scope tags name', () => {
    const u = scopeUniverse(config({ routes: [{ id: 'r1', tags: [EU, GOLD] }] }));
    expect(configSliceKey(u, at('eu', { tier: 'gold', host: 'x' }))).toBe('region=eu/label=tier=gold');
    expect(configSliceKey(u, at('us', { tier: 'silver' }))).toBe('default');
    expect(configSliceKey(u, at('ap'))).toBe(configSliceKey(u, at('')));
  });

  it('same projected key => same slice (property)', () => {
    const name = fc.constantFrom('eu', 'us', 'ap', '');
    const value = fc.constantFrom('gold', 'silver', 'x');
    const node = fc.record({
      region: name,
      labels: fc.dictionary(fc.constantFrom('tier', 'zone', 'other'), value, { maxKeys: 3 }),
    });
    const tags = fc.array(
      fc.oneof(
        name.filter((r) => r !== '').map(regionTag),
        fc.tuple(fc.constantFrom('tier', 'zone'), value).map(([k, v]) => labelTag(k, v)),
        fc.constant('plain'),
      ),
      { maxLength: 3 },
    );
    fc.assert(
      fc.property(fc.array(tags, { minLength: 1, maxLength: 6 }), node, node, (routeTags, a, b) => {
        const cfg = config({ routes: routeTags.map((t, i) => ({ id: `r${i}`, tags: t })) });
        const u = scopeUniverse(cfg);
        if (configSliceKey(u, a) !== configSliceKey(u, b)) return;
        expect(ids(sliceConfig(cfg, a))).toEqual(ids(sliceConfig(cfg, b)));
      }),
    );
  });
});

describe('scope tags and placements (hostile input)', () => {
  it('parses the two forms and refuses other reserved tags', () => {
    expect(parseScopeTag('gatehouse:region=eu-west-1')).toEqual({ kind: 'region', region: 'eu-west-1' });
    expect(parseScopeTag('gatehouse:label=tier=gold')).toEqual({ kind: 'label', key: 'tier', value: 'gold' });
    expect(parseScopeTag('team-a')).toBeNull();
    for (const bad of [
      'gatehouse:',
      'gatehouse:region=',
      'gatehouse:label=tier',
      'gatehouse:label==x',
      'gatehouse:zone=a',
      'gatehouse:region=e u',
    ])
      expect(scopeTagError(bad), bad).toMatch(/invalid scope tag/);
    expect(scopeOf(['a', 'b'])).toBeNull();
  });

  it("takes the setting tags (an upstream's gatehouse:half-open=<s>) as no scope: accepted, scoping nothing", () => {
    expect(parseScopeTag('gatehouse:half-open=2')).toBeNull();
    expect(scopeOf(['gatehouse:half-open=2'])).toBeNull();
    expect(scopeOf(['gatehouse:half-open=2', 'gatehouse:region=eu'])).toEqual({
      regions: ['eu'],
      labels: {},
    });
    expect(
      ENTITIES.upstreams.validate({ name: 'pool', tags: ['gatehouse:half-open=2'] }) as { tags: string[] },
    ).toMatchObject({ tags: ['gatehouse:half-open=2'] });
    expect(scopeTagError('gatehouse:zone=a')).toMatch(/gatehouse:half-open=<seconds>/);
  });

  it('never throws on any tag or label text, and accepted names make unambiguous keys', () => {
    fc.assert(
      fc.property(
        fc.array(fc.fullUnicodeString({ maxLength: 80 })),
        fc.fullUnicodeString({ maxLength: 80 }),
        (tags, text) => {
          scopeOf(tags);
          const l = parseLabel(text);
          if ('key' in l) {
            expect(l.key).not.toMatch(/[=/]/);
            expect(l.value).not.toMatch(/[=/]/);
            expect(placementError({ region: '', labels: { [l.key]: l.value } })).toBeNull();
          }
          for (const t of tags) {
            const p = parseScopeTag(t);
            if (p && !('error' in p) && p.kind === 'region') expect(p.region).toMatch(/^[A-Za-z0-9._-]+$/);
          }
        },
      ),
    );
  });

  it('refuses bad placements', () => {
    expect(placementError({ region: 'eu', labels: { tier: 'gold' } })).toBeNull();
    expect(placementError({ region: 'e/u', labels: {} })).toMatch(/region/);
    expect(placementError({ region: '', labels: { 'a=b': 'c' } })).toMatch(/label key/);
    expect(placementError({ region: '', labels: { a: '' } })).toMatch(/must not be empty/);
    expect(placementError({ region: 'x'.repeat(64), labels: {} })).toMatch(/at most 63/);
    const many = Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, 'v']));
    expect(placementError({ region: '', labels: many })).toMatch(/at most 16 labels/);
  });
});

describe('scope tags on kinds that are not scoped', () => {
  it('are refused on write, naming the kinds that can be scoped; scopable kinds take them', () => {
    expect(() => ENTITIES.consumers.validate({ username: 'a', tags: [EU] })).toThrow(
      /tags: scope tag 'gatehouse:region=eu': only services, routes, upstreams, targets, plugins can be scoped/,
    );
    expect(() => ENTITIES.consumers.validate({ username: 'a', tags: ['team-a'] })).not.toThrow();
    expect(ENTITIES.services.validate({ host: 'example.com', tags: [EU, GOLD] })).toMatchObject({
      tags: [EU, GOLD],
    });
    expect(() => ENTITIES.services.validate({ host: 'example.com', tags: ['gatehouse:regoin=eu'] })).toThrow(
      /invalid scope tag/,
    );
  });
});

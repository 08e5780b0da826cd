import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ROUTE_DEFAULTS,
  SERVICE_DEFAULTS,
  type GatehouseConfig,
  type Route,
  type Service,
  completeConfig,
} from '@gatehouse/shared';
import { compileRouter, type RouteRequest } from './router.js';
import { isGatehouseError } from '@gatehouse/shared';

// Kong references below are to Kong/kong: spec/01-unit/08-router_spec.lua ("spec") and
// kong/router/traditional.lua ("traditional.lua"); docs: "proxy" = docs.konghq.com/gateway/latest/how-kong-works/routing-traffic/.

const SERVICE: Service = {
  ...SERVICE_DEFAULTS,
  id: 'svc',
  name: 'svc',
  host: 'upstream',
  created_at: 1,
  updated_at: 1,
};

let seq = 0;
function route(name: string, fields: Partial<Route>): Route {
  seq++;
  return {
    ...ROUTE_DEFAULTS,
    protocols: ['http', 'https'],
    id: `id-${name}`,
    name,
    service: { id: SERVICE.id },
    created_at: seq,
    updated_at: seq,
    ...fields,
  };
}

function build(routes: Route[], services: Service[] = [SERVICE]) {
  const config: GatehouseConfig = completeConfig({ services, routes });
  return compileRouter(config, (s) => s.id);
}

function req(
  path: string,
  host?: string,
  method = 'GET',
  headers: Record<string, string | string[]> = {},
): RouteRequest {
  const rawHeaders: string[] = [];
  for (const [k, v] of Object.entries(headers))
    for (const one of Array.isArray(v) ? v : [v]) rawHeaders.push(k, one);
  return { method, path, host, rawHeaders };
}

interface Case {
  name: string;
  kong: string;
  routes: Route[];
  request: RouteRequest;
  expect: string | null;
}

const table: Case[] = [
  {
    name: 'plain host',
    kong: 'spec "[host]"',
    routes: [route('h', { hosts: ['domain-1.org', 'domain-2.org'] }), route('m', { methods: ['TRACE'] })],
    request: req('/', 'domain-1.org'),
    expect: 'h',
  },
  {
    name: 'host with the default port matches a no-port host',
    kong: 'spec "[host] ignores default port"',
    routes: [route('h', { hosts: ['domain-1.org'] })],
    request: req('/', 'domain-1.org:80'),
    expect: 'h',
  },
  {
    name: 'any port matches a no-port host',
    kong: 'spec "[host] weird port matches no-port route"',
    routes: [route('h', { hosts: ['domain-1.org'] })],
    request: req('/', 'domain-1.org:123'),
    expect: 'h',
  },
  {
    name: 'port-qualified host matches that port',
    kong: 'spec "[host] matches specific port"',
    routes: [route('h', { hosts: ['domain-1.org'] }), route('h321', { hosts: ['domain-1.org:321'] })],
    request: req('/', 'domain-1.org:321'),
    expect: 'h321',
  },
  {
    name: 'port-qualified host fails on another port',
    kong: 'spec "[host] fails just because of port on port-only route"',
    routes: [route('h321', { hosts: ['domain-3.org:321'] })],
    request: req('/', 'domain-3.org:123'),
    expect: null,
  },
  {
    name: 'host names are case-insensitive',
    kong: 'DNS names are case-insensitive (RFC 4343)',
    routes: [route('h', { hosts: ['example.com'] })],
    request: req('/', 'EXAMPLE.com'),
    expect: 'h',
  },
  {
    name: 'uri prefix',
    kong: 'spec "[uri prefix] matches when given [uri] is in request URI prefix"',
    routes: [route('p', { paths: ['/my-route'] })],
    request: req('/my-route/some/path'),
    expect: 'p',
  },
  {
    name: 'prefix is a plain string prefix, not a segment',
    kong: 'traditional.lua: plain find(req_uri, value) == 1',
    routes: [route('p', { paths: ['/my-route'] })],
    request: req('/my-routeX'),
    expect: 'p',
  },
  {
    name: 'uri only matches as a prefix (anchored)',
    kong: 'spec "only matches [uri prefix] as a prefix (anchored mode)"',
    routes: [route('p', { paths: ['/something/my-route'] })],
    request: req('/my-route/something/my-route'),
    expect: null,
  },
  {
    name: 'longer prefix wins',
    kong: 'spec "does not supersede another route with a longer [uri]"',
    routes: [route('short', { paths: ['/my-route'] }), route('long', { paths: ['/my-route/hello'] })],
    request: req('/my-route/hello/world'),
    expect: 'long',
  },
  {
    name: 'shorter prefix still serves other paths',
    kong: 'spec "does not supersede another route with a longer [uri]"',
    routes: [route('short', { paths: ['/my-route'] }), route('long', { paths: ['/my-route/hello'] })],
    request: req('/my-route/world'),
    expect: 'short',
  },
  {
    name: 'longer prefix wins with methods on both',
    kong: 'spec "does not supersede another route with a longer [uri] while [methods] are also defined"',
    routes: [
      route('short', { paths: ['/my-route'], methods: ['POST', 'PUT', 'GET'] }),
      route('long', { paths: ['/my-route/hello'], methods: ['POST', 'PUT', 'GET'] }),
    ],
    request: req('/my-route/hello', undefined, 'POST'),
    expect: 'long',
  },
  {
    name: 'host + longer uri beats host + shorter uri',
    kong: 'spec "does not superseds another route with a longer [uri] while [hosts] are also defined"',
    routes: [
      route('short', { paths: ['/my-route'], hosts: ['domain.org'] }),
      route('long', { paths: ['/my-route/hello'], hosts: ['domain.org'] }),
    ],
    request: req('/my-route/hello', 'domain.org'),
    expect: 'long',
  },
  {
    name: 'a better uri for another host does not win',
    kong: 'spec "does not supersede another route with a longer [uri] when a better [uri] match exists for another [host]"',
    routes: [
      route('short', { paths: ['/my-route'], hosts: ['example.com'] }),
      route('long', { paths: ['/my-route/hello'], hosts: ['example.net'] }),
    ],
    request: req('/my-route/hello', 'example.com'),
    expect: 'short',
  },
  {
    name: 'regex path',
    kong: 'spec "matches with [uri regex]"',
    routes: [route('r', { paths: ['~/users/\\d+/profile'] })],
    request: req('/users/123/profile'),
    expect: 'r',
  },
  {
    name: 'regex paths are anchored at the start',
    kong: 'spec "matches from the beginning of the request URI [uri regex]"',
    routes: [route('r', { paths: ['~/prefix/[0-9]+'] })],
    request: req('/extra/prefix/123'),
    expect: null,
  },
  {
    name: 'regex beats a matching prefix of the same category',
    kong: 'spec "matches a [uri regex] even if a [prefix uri] got a match"',
    routes: [
      route('prefix', { paths: ['/route/persons'] }),
      route('regex', { paths: ['~/route/persons/\\d+/profile'] }),
    ],
    request: req('/route/persons/123/profile'),
    expect: 'regex',
  },
  {
    name: 'regex beats an exact prefix match',
    kong: 'spec "matches a [uri regex] even if a [uri] got an exact match"',
    routes: [
      route('prefix', { paths: ['/route/fixture'] }),
      route('regex', { paths: ['~/route/(fixture)'] }),
    ],
    request: req('/route/fixture'),
    expect: 'regex',
  },
  {
    name: 'higher regex_priority wins among regexes',
    kong: 'proxy docs "regex_priority"; traditional.lua sort_routes',
    routes: [
      route('low', { paths: ['~/status/\\d+'], regex_priority: 0 }),
      route('high', { paths: ['~/status/(?<code>\\d+)'], regex_priority: 6 }),
    ],
    request: req('/status/200'),
    expect: 'high',
  },
  {
    name: 'equal regex_priority: oldest route first',
    kong: 'traditional.lua sort_routes: created_at ascending',
    routes: [route('first', { paths: ['~/status/\\d+'] }), route('second', { paths: ['~/status/\\d+'] })],
    request: req('/status/200'),
    expect: 'first',
  },
  {
    name: 'regex_priority is ignored for prefix paths',
    kong: 'traditional.lua sort_routes: "only regex path use regex_priority"',
    routes: [
      route('short', { paths: ['/a'], regex_priority: 100 }),
      route('long', { paths: ['/a/b'], regex_priority: 0 }),
    ],
    request: req('/a/b/c'),
    expect: 'long',
  },
  {
    name: 'host + regex beats a plain prefix',
    kong: 'spec "matches a [uri regex + host] even if a [prefix uri] got a match"',
    routes: [
      route('prefix', { paths: ['/pat'] }),
      route('regexhost', { paths: ['~/(path)'], hosts: ['route.com'] }),
    ],
    request: req('/path', 'route.com'),
    expect: 'regexhost',
  },
  {
    name: 'method only',
    kong: 'spec "[method]"',
    routes: [route('m', { methods: ['TRACE'] })],
    request: req('/', 'domain.org', 'TRACE'),
    expect: 'm',
  },
  {
    name: 'host + uri + method beats host + uri',
    kong: 'spec "[host + uri + method]"; proxy docs "routes with more attributes first"',
    routes: [
      route('hu', { hosts: ['domain.org'], paths: ['/x'] }),
      route('hum', { hosts: ['domain.org'], paths: ['/x'], methods: ['GET'] }),
    ],
    request: req('/x', 'domain.org'),
    expect: 'hum',
  },
  {
    name: '[host] and [uri] beat [method] even with a longer path elsewhere',
    kong: 'spec edge-cases "[host] and [uri] have higher priority than [method]"',
    routes: [route('m', { methods: ['GET'] }), route('hu', { hosts: ['domain.org'], paths: ['/'] })],
    request: req('/x', 'domain.org'),
    expect: 'hu',
  },
  {
    name: 'half a host+uri match does not supersede another route',
    kong: 'spec edge-cases "half [uri] and [host] match does not supersede another route"',
    routes: [route('hu', { hosts: ['host1.com'], paths: ['/v1/path'] }), route('u', { paths: ['/'] })],
    request: req('/v1/path', 'host2.com'),
    expect: 'u',
  },
  {
    name: 'category: host beats uri at equal weight',
    kong: 'traditional.lua sort_categories: HOST (0x40) > URI (0x10)',
    routes: [route('u', { paths: ['/'] }), route('h', { hosts: ['a.com'] })],
    request: req('/x', 'a.com'),
    expect: 'h',
  },
  {
    name: 'category: uri beats method at equal weight',
    kong: 'spec edge-cases "[method] does not supersede [uri prefix]"',
    routes: [route('m', { methods: ['GET'] }), route('u', { paths: ['/httpbin'] })],
    request: req('/httpbin', 'x', 'GET'),
    expect: 'u',
  },
  {
    name: 'root / is a catch-all',
    kong: 'spec edge-cases "root / [uri] acts as a catch-all route"',
    routes: [route('root', { paths: ['/'] }), route('other', { paths: ['/other'] })],
    request: req('/whatever/path'),
    expect: 'root',
  },
  {
    name: 'root / does not supersede a longer prefix',
    kong: 'spec edge-cases "root / [uri] does not supersede another route"',
    routes: [route('root', { paths: ['/'] }), route('other', { paths: ['/other'] })],
    request: req('/other/x'),
    expect: 'other',
  },
  {
    name: 'wildcard leftmost',
    kong: 'spec "[wildcard host] matches leftmost wildcards"',
    routes: [route('w', { hosts: ['*.route.com'] })],
    request: req('/', 'foo.route.com'),
    expect: 'w',
  },
  {
    name: 'wildcard rightmost',
    kong: 'spec "[wildcard host] matches rightmost wildcards"',
    routes: [route('w', { hosts: ['route.*'] })],
    request: req('/', 'route.org'),
    expect: 'w',
  },
  {
    name: 'wildcard does not match the bare domain',
    kong: 'traditional.lua: `*` becomes `.+` (one or more characters)',
    routes: [route('w', { hosts: ['*.route.com'] })],
    request: req('/', 'route.com'),
    expect: null,
  },
  {
    name: 'wildcard without port matches any port',
    kong: 'spec "[wildcard host] matches any port in request"',
    routes: [route('w', { hosts: ['*.route.com'] })],
    request: req('/', 'foo.route.com:123'),
    expect: 'w',
  },
  {
    name: 'port-specific wildcard preferred even for the default port',
    kong: 'spec "[wildcard host] prefers port-specific even for http default port"',
    routes: [route('any', { hosts: ['*.route.com'] }), route('p80', { hosts: ['*.route.com:80'] })],
    request: req('/', 'foo.route.com'),
    expect: 'p80',
  },
  {
    name: 'plain host beats wildcard host',
    kong: 'spec "[wildcard host] does not take precedence over a plain host"',
    routes: [route('w', { hosts: ['*.route.com'] }), route('p', { hosts: ['plain.route.com'] })],
    request: req('/', 'plain.route.com'),
    expect: 'p',
  },
  {
    name: 'wildcard + path beats plain host without path',
    kong: 'spec "matches [wildcard host + path] even if a similar [plain host] exists"',
    routes: [
      route('plain', { hosts: ['plain.route.com'] }),
      route('wp', { hosts: ['*.route.com'], paths: ['/path1'] }),
    ],
    request: req('/path1', 'plain.route.com'),
    expect: 'wp',
  },
  {
    name: 'plain host + path beats wildcard + path',
    kong: 'spec "matches [plain host + path] even if a matching [wildcard host] exists"',
    routes: [
      route('wp', { hosts: ['*.route.com'], paths: ['/path1'] }),
      route('pp', { hosts: ['plain.route.com'], paths: ['/path1'] }),
    ],
    request: req('/path1', 'plain.route.com'),
    expect: 'pp',
  },
  {
    name: 'wildcard host + regex path',
    kong: 'spec "[wildcard host] + [uri regex] matches"',
    routes: [route('wr', { hosts: ['*.example.com'], paths: ['~/[0-9]+/path$'] })],
    request: req('/123/path', 'foo.example.com'),
    expect: 'wr',
  },
  {
    name: 'header exact value, case-insensitive',
    kong: 'spec "[headers] matches values in a case-insensitive way"',
    routes: [route('hd', { headers: { location: ['my-location-1', 'my-location-2'] } })],
    request: req('/', 'x', 'GET', { Location: 'MY-LOCATION-2' }),
    expect: 'hd',
  },
  {
    name: 'header names are case-insensitive',
    kong: 'spec "[headers] names are case-insensitive"',
    routes: [route('hd', { headers: { 'x-version': ['v1'] } })],
    request: req('/', 'x', 'GET', { 'X-VERSION': 'v1' }),
    expect: 'hd',
  },
  {
    name: 'header missing: no match',
    kong: 'spec misses "invalid [headers]"',
    routes: [route('hd', { headers: { location: ['my-location-1'] } })],
    request: req('/', 'x', 'GET', { location: 'elsewhere' }),
    expect: null,
  },
  {
    name: 'header regex value (~*)',
    kong: 'proxy docs "headers: ~* regex"; traditional.lua header_pattern',
    routes: [route('hr', { headers: { 'x-version': ['~*^v\\d+$'] } })],
    request: req('/', 'x', 'GET', { 'x-version': 'V12' }),
    expect: 'hr',
  },
  {
    name: 'any of several header lines may match',
    kong: 'traditional.lua HEADER matcher iterates a repeated header',
    routes: [route('hd', { headers: { 'x-tag': ['b'] } })],
    request: req('/', 'x', 'GET', { 'x-tag': ['a', 'b'] }),
    expect: 'hd',
  },
  {
    name: 'more headers first',
    kong: 'spec "[headers] evaluates Routes with more [headers] first"',
    routes: [
      route('one', { headers: { version: ['v1'] } }),
      route('two', { headers: { version: ['v1'], location: ['us-east'] } }),
    ],
    request: req('/', 'x', 'GET', { version: 'v1', location: 'us-east' }),
    expect: 'two',
  },
  {
    name: 'more headers beat a longer path',
    kong: 'spec edge-cases "more [headers] has priority over longer [paths]"',
    routes: [
      route('longpath', { headers: { version: ['v1'] }, paths: ['/my-route/hello'] }),
      route('moreheaders', { headers: { version: ['v1'], location: ['us-east'] }, paths: ['/my-route'] }),
    ],
    request: req('/my-route/hello', 'x', 'GET', { version: 'v1', location: 'us-east' }),
    expect: 'moreheaders',
  },
  {
    name: 'header + uri beats uri',
    kong: 'spec "[headers + uri]"',
    routes: [route('u', { paths: ['/'] }), route('hu', { headers: { version: ['v1'] }, paths: ['/'] })],
    request: req('/x', 'x', 'GET', { version: 'v1' }),
    expect: 'hu',
  },
  {
    name: 'a route with several paths: the longest matching one sorts it',
    kong: 'traditional.lua: routes split by paths to sort properly',
    routes: [route('multi', { paths: ['/a', '/a/b/c'] }), route('mid', { paths: ['/a/b'] })],
    request: req('/a/b/c/d'),
    expect: 'multi',
  },
  {
    name: 'same category and values: oldest first',
    kong: 'spec "multiple routes of same category with identical values"',
    routes: [
      route('older', { paths: ['/same'], created_at: 1 }),
      route('newer', { paths: ['/same'], created_at: 2 }),
    ],
    request: req('/same'),
    expect: 'older',
  },
  {
    name: 'disabled service: treated as no route',
    kong: 'Kong skips routes whose service is disabled',
    routes: [route('off', { paths: ['/'], service: { id: 'disabled' } })],
    request: req('/'),
    expect: null,
  },
  {
    name: 'disabled service falls through to the next route',
    kong: 'Kong skips routes whose service is disabled',
    routes: [route('off', { paths: ['/api'], service: { id: 'disabled' } }), route('on', { paths: ['/'] })],
    request: req('/api/x'),
    expect: 'on',
  },
  {
    name: 'no host header: host routes do not match',
    kong: 'traditional.lua: host rule needs a request host',
    routes: [route('h', { hosts: ['a.com'] })],
    request: req('/'),
    expect: null,
  },
  {
    name: 'snis are ignored for plain HTTP but still count as an attribute',
    kong: 'traditional.lua SNI matcher: req_scheme == "http" passes',
    routes: [route('u', { paths: ['/'] }), route('us', { paths: ['/'], snis: ['a.com'] })],
    request: req('/x'),
    expect: 'us',
  },
  {
    name: 'an empty methods, hosts, paths or snis list is no rule, as unset (the Admin API returns [])',
    kong: 'traditional.lua marshall_route: `if count > 0` for each list',
    routes: [route('e', { hosts: ['e.com'], methods: [], paths: [], snis: [] })],
    request: req('/any/path', 'e.com', 'DELETE'),
    expect: 'e',
  },
  {
    name: 'an empty list weighs nothing: a route with a real method rule wins over it',
    kong: 'traditional.lua marshall_route: match_weight counts non-empty lists only',
    routes: [
      route('empty', { hosts: ['w.com'], methods: [], paths: ['/'] }),
      route('get', { hosts: ['w.com'], methods: ['GET'], paths: ['/'] }),
    ],
    request: req('/', 'w.com', 'GET'),
    expect: 'get',
  },
];

const DISABLED: Service = { ...SERVICE, id: 'disabled', enabled: false };

describe('router: Kong traditional matching and priority table', () => {
  for (const c of table) {
    it(`${c.name} (${c.kong})`, () => {
      const router = build(c.routes, [SERVICE, DISABLED]);
      const match = router.match(c.request);
      expect(match?.entry.route.name ?? null).toBe(c.expect);
    });
  }

  it('gives the same answer whatever the order the routes are listed in', () => {
    for (const c of table) {
      const reversed = build([...c.routes].reverse(), [SERVICE, DISABLED]);
      expect(reversed.match(c.request)?.entry.route.name ?? null, c.name).toBe(c.expect);
    }
  });
});

describe('router: match details', () => {
  it('exposes numbered and named regex captures', () => {
    const router = build([route('r', { paths: ['~/users/(\\d+)/(?<action>\\w+)'] })]);
    const m = router.match(req('/users/42/edit/more'));
    expect(m?.captures).toEqual({ '0': '/users/42/edit', '1': '42', '2': 'edit', action: 'edit' });
    expect(m?.prefixLength).toBe('/users/42/edit'.length);
  });

  // spec/01-unit/08-router_spec.lua "returns uri_captures from a [uri regex]" (PCRE named groups)
  it("exposes Kong's uri_captures for PCRE named groups (?P<name>…)", () => {
    const router = build([route('r', { paths: ['~/users/(?P<user_id>\\d+)/profile/?(?P<scope>[a-z]*)'] })]);
    expect(router.match(req('/users/1984/profile'))?.captures).toEqual({
      '0': '/users/1984/profile',
      '1': '1984',
      '2': '',
      user_id: '1984',
      scope: '',
    });
    expect(router.match(req('/users/1984/profile/email'))?.captures).toMatchObject({
      '2': 'email',
      scope: 'email',
    });
    // "uri_captures works well with the optional capture group. Fix #13014"
    const optional = build([route('o', { paths: ['~/(users/)?1984/(?<subpath>profile)$'] })]);
    const m = optional.match(req('/1984/profile'));
    expect(m?.captures?.['1']).toBeUndefined();
    expect(m?.captures?.subpath).toBe('profile');
    // No group: no uri_captures (Kong sets them only when m[1] exists).
    expect(build([route('n', { paths: ['~/plain/\\d+'] })]).match(req('/plain/1'))?.captures).toBeNull();
  });

  it('runs PCRE-only syntax the validator accepts: inline (?i), \\A, \\z', () => {
    const router = build([route('r', { paths: ['~/(?i)caseless\\z'] })]);
    expect(router.match(req('/CaseLess'))?.entry.route.name).toBe('r');
    expect(router.match(req('/CaseLess/more'))).toBeNull();
  });

  it('reports the matched prefix length, and -1 for a route without paths', () => {
    const router = build([route('p', { paths: ['/api'] }), route('h', { hosts: ['h.com'] })]);
    expect(router.match(req('/api/x'))?.prefixLength).toBe(4);
    expect(router.match(req('/x', 'h.com'))?.prefixLength).toBe(-1);
    expect(router.match(req('/api/x'))?.captures).toBeNull();
  });

  it('leaves out routes without an HTTP protocol and serviceless routes', () => {
    const router = build([
      route('tcp', { protocols: ['tcp'], paths: ['/'] }),
      route('none', { paths: ['/'], service: null }),
    ]);
    expect(router.size).toBe(0);
  });
});

describe('router: compile errors', () => {
  const codeOf = (fn: () => unknown): string | undefined => {
    try {
      fn();
    } catch (e) {
      return isGatehouseError(e) ? e.code : 'not a GatehouseError';
    }
    return undefined;
  };

  it('rejects an invalid regex path', () => {
    expect(codeOf(() => build([route('bad', { paths: ['~/(unclosed'] })]))).toBe(
      'GH_ERR_ROUTER_INVALID_REGEX',
    );
  });

  it('rejects an invalid header regex', () => {
    expect(codeOf(() => build([route('bad', { headers: { a: ['~*(['] } })]))).toBe(
      'GH_ERR_ROUTER_INVALID_REGEX',
    );
  });

  it('rejects a route with nothing to match on', () => {
    expect(codeOf(() => build([route('empty', {})]))).toBe('GH_ERR_ROUTER_UNROUTABLE');
  });

  it('rejects a route whose protocols are not route protocols, even when it is not an HTTP route (chaos row F13)', () => {
    const gopher = route('gopher', { paths: ['/g'], protocols: ['gopher'] as unknown as Route['protocols'] });
    expect(codeOf(() => build([gopher]))).toBe('GH_ERR_ROUTER_INVALID_ROUTE');
    const none = route('none', { paths: ['/n'], protocols: [] });
    expect(codeOf(() => build([none]))).toBe('GH_ERR_ROUTER_INVALID_ROUTE');
  });

  it('rejects a route whose paths, hosts, methods or snis are not lists of strings, whatever its protocols', () => {
    const bad = (fields: Record<string, unknown>) =>
      codeOf(() => build([route('bad', { paths: ['/'], ...(fields as Partial<Route>) })]));
    expect(bad({ paths: [42], protocols: ['tcp'] })).toBe('GH_ERR_ROUTER_INVALID_ROUTE');
    expect(bad({ hosts: 'a.example' })).toBe('GH_ERR_ROUTER_INVALID_ROUTE');
    expect(bad({ methods: [null] })).toBe('GH_ERR_ROUTER_INVALID_ROUTE');
    expect(bad({ snis: [{}] })).toBe('GH_ERR_ROUTER_INVALID_ROUTE');
  });

  it('compiles or refuses with a router error whatever a route holds (fast-check)', () => {
    const value = fc.oneof(
      fc.constant(null),
      fc.string(),
      fc.integer(),
      fc.array(fc.oneof(fc.string(), fc.integer(), fc.constant(null), fc.constantFrom('http', 'tcp', '/'))),
      fc.object(),
    );
    fc.assert(
      fc.property(
        fc.record(
          { protocols: value, paths: value, hosts: value, methods: value, snis: value },
          { requiredKeys: [] },
        ),
        (fields) => {
          try {
            build([route('any', { paths: ['/'], ...(fields as Partial<Route>) })]);
          } catch (e) {
            expect(isGatehouseError(e), String(e)).toBe(true);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('rejects a route pointing at an unknown service', () => {
    expect(codeOf(() => build([route('orphan', { paths: ['/'], service: { id: 'nope' } })]))).toBe(
      'GH_ERR_ROUTER_UNKNOWN_SERVICE',
    );
  });
});

describe('router: lookup cost does not grow with the number of routes', () => {
  function manyRoutes(n: number): Route[] {
    const routes: Route[] = [];
    for (let i = 0; i < n; i++) {
      const kind = i % 4;
      if (kind === 0) routes.push(route(`p${i}`, { paths: [`/svc${i}/api`] }));
      else if (kind === 1) routes.push(route(`h${i}`, { hosts: [`host${i}.example.com`], paths: ['/'] }));
      else if (kind === 2) routes.push(route(`m${i}`, { paths: [`/m${i}`], methods: ['POST'] }));
      else routes.push(route(`hp${i}`, { hosts: ['shared.example.com'], paths: [`/hp${i}/`] }));
    }
    return routes;
  }

  const requests = (n: number): { request: RouteRequest; expect: string }[] => [
    { request: req(`/svc${n - 4}/api/x`), expect: `p${n - 4}` },
    { request: req('/anything', `host${n - 3}.example.com`), expect: `h${n - 3}` },
    { request: req(`/m${n - 2}`, undefined, 'POST'), expect: `m${n - 2}` },
    { request: req(`/hp${n - 1}/x`, 'shared.example.com'), expect: `hp${n - 1}` },
  ];

  it('examines the same number of entries for 10 and for 10,000 routes', () => {
    const small = build(manyRoutes(12));
    const large = build(manyRoutes(10_000));
    const smallCost: number[] = [];
    const largeCost: number[] = [];
    for (const { request, expect: name } of requests(12)) {
      expect(small.match(request)?.entry.route.name).toBe(name);
      smallCost.push(small.lastExamined);
    }
    for (const { request, expect: name } of requests(10_000)) {
      expect(large.match(request)?.entry.route.name).toBe(name);
      largeCost.push(large.lastExamined);
    }
    expect(largeCost).toEqual(smallCost);
    expect(Math.max(...largeCost)).toBeLessThanOrEqual(2);
  });

  it('misses cheaply too', () => {
    const large = build(manyRoutes(10_000));
    expect(large.match(req('/nothing/here', 'unknown.example.com'))).toBeNull();
    expect(large.lastExamined).toBe(0);
  });
});

describe('route flags, compiled once', () => {
  it('puts allowsHttp, the redirect status, strip/path handling, preserve_host and the chain on the entry', () => {
    const https = route('https-only', {
      paths: ['/s'],
      protocols: ['https'],
      https_redirect_status_code: 308,
      strip_path: false,
      path_handling: 'v1',
      preserve_host: true,
    });
    const plain = route('plain', { paths: ['/p'] });
    const config = completeConfig({ services: [SERVICE], routes: [https, plain] });
    const router = compileRouter(
      config,
      (s) => s.id,
      (r) => (r.id === plain.id ? `chain-of-${r.name}` : null),
    );
    const s = router.match(req('/s'))!.entry;
    expect(s).toMatchObject({
      allowsHttp: false,
      httpsRedirectStatus: 308,
      stripPath: false,
      pathHandling: 'v1',
      preserveHost: true,
      chain: null,
    });
    const p = router.match(req('/p'))!.entry;
    expect(p).toMatchObject({
      allowsHttp: true,
      httpsRedirectStatus: 426,
      stripPath: true,
      pathHandling: 'v0',
      preserveHost: false,
      chain: 'chain-of-plain',
    });
  });

  it('reads the route once: changing the route object after the compile changes no flag', () => {
    const r = route('frozen', { paths: ['/f'], protocols: ['http', 'https'] });
    const router = build([r]);
    (r as { protocols: string[] }).protocols = ['https'];
    (r as { strip_path: boolean }).strip_path = false;
    expect(router.match(req('/f'))!.entry).toMatchObject({ allowsHttp: true, stripPath: true });
  });
});

describe('ws/wss routes (Kong 3.x protocols)', () => {
  it('match only WebSocket upgrades; an http route matches both; ws counts as plain for the https check', () => {
    const router = build([
      route('ws', { paths: ['/live'], protocols: ['ws', 'wss'] }),
      route('wss', { paths: ['/secure'], protocols: ['wss'] }),
      route('http', { paths: ['/'], protocols: ['http', 'https'] }),
    ]);
    const upgrade = (path: string): RouteRequest => ({ ...req(path), upgrade: true });
    expect(router.match(upgrade('/live'))!.entry.route.name).toBe('ws');
    expect(router.match(req('/live'))!.entry.route.name).toBe('http');
    expect(router.match(upgrade('/live'))!.entry).toMatchObject({ allowsHttp: true, upgradeOnly: true });
    expect(router.match(upgrade('/secure'))!.entry).toMatchObject({ allowsHttp: false, upgradeOnly: true });
    expect(router.match(upgrade('/other'))!.entry).toMatchObject({
      route: { name: 'http' },
      upgradeOnly: false,
    });
  });
});

describe('router size: what routes have alike is held once', () => {
  it('gives routes with the same methods one method set, and routes without headers one empty list', () => {
    const router = build([
      route('a', { paths: ['/a'], methods: ['GET', 'post'] }),
      route('b', { paths: ['/b'], methods: ['get', 'POST'] }),
      route('c', { paths: ['/c'], methods: ['GET'] }),
    ]);
    const [a, b, c] = ['/a', '/b', '/c'].map((p) => router.match(req(p))!.entry);
    expect(a!.methods).toBe(b!.methods);
    expect([...a!.methods!]).toEqual(['GET', 'POST']);
    expect(c!.methods).not.toBe(a!.methods);
    expect([...c!.methods!]).toEqual(['GET']);
    expect(a!.headers).toBe(c!.headers);
    expect(router.match(req('/a', undefined, 'PUT'))).toBeNull();
  });
});

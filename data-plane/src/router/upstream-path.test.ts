import { describe, expect, it } from 'vitest';
import { sanitizePostfix, upstreamPath } from './upstream-path.js';
import { normalizePath } from './normalize.js';

// Rows from Kong's path-handling table (Kong/kong spec/fixtures/router_path_handling_tests.lua):
// service path, route path (null = the route matches on host), strip_path, path_handling, request path, expected.
type Row = [string, string | null, boolean[], ('v0' | 'v1')[], string, string];
const B = [false, true];
const T = [true];
const F = [false];
const V = ['v0', 'v1'] as ('v0' | 'v1')[];
const V0 = ['v0'] as ('v0' | 'v1')[];
const V1 = ['v1'] as ('v0' | 'v1')[];

const rows: Row[] = [
  ['/', '/', B, V, '/', '/'],
  ['/', '/', B, V, '/route', '/route'],
  ['/', '/', B, V, '/route/', '/route/'],
  ['/', '/', B, V, '/route/req', '/route/req'],
  ['/', '/route', F, V, '/route', '/route'],
  ['/', '/route', F, V, '/routereq', '/routereq'],
  ['/', '/route', T, V, '/route', '/'],
  ['/', '/route', T, V, '/route/', '/'],
  ['/', '/route', T, V, '/routereq', '/req'],
  ['/', '/route/', T, V, '/route/', '/'],
  ['/', '/route/', T, V, '/route/req', '/req'],
  ['/srv', '/rou', F, V0, '/roureq', '/srv/roureq'],
  ['/srv', '/rou', F, V1, '/roureq', '/srvroureq'],
  ['/srv', '/rou', T, V0, '/roureq', '/srv/req'],
  ['/srv', '/rou', T, V1, '/roureq', '/srvreq'],
  ['/srv/', '/rou', F, V, '/rou', '/srv/rou'],
  ['/srv/', '/rou', T, V0, '/rou', '/srv'],
  ['/srv/', '/rou', T, V1, '/rou', '/srv/'],
  ['/service', '/', B, V, '/', '/service'],
  ['/service', '/', B, V0, '/route', '/service/route'],
  ['/service', '/', B, V1, '/route', '/serviceroute'],
  ['/service', '/', B, V0, '/route/req', '/service/route/req'],
  ['/service', '/', B, V1, '/route/req', '/serviceroute/req'],
  ['/service', '/route', F, V0, '/route', '/service/route'],
  ['/service', '/route', F, V1, '/route', '/serviceroute'],
  ['/service', '/route', T, V, '/route', '/service'],
  ['/service', '/route', T, V, '/route/', '/service/'],
  ['/service', '/route', T, V0, '/routereq', '/service/req'],
  ['/service', '/route', T, V1, '/routereq', '/servicereq'],
  ['/service', '/route/', T, V0, '/route/', '/service/'],
  ['/service', '/route/', T, V1, '/route/', '/service'],
  ['/service', '/route/', T, V0, '/route/req', '/service/req'],
  ['/service', '/route/', T, V1, '/route/req', '/servicereq'],
  ['/service/', '/', B, V, '/', '/service/'],
  ['/service/', '/', B, V, '/route/req', '/service/route/req'],
  ['/service/', '/route', F, V, '/route/', '/service/route/'],
  ['/service/', '/route', T, V0, '/route', '/service'],
  ['/service/', '/route', T, V1, '/route', '/service/'],
  ['/service/', '/route', T, V, '/route/', '/service/'],
  ['/service/', '/route', T, V, '/routereq', '/service/req'],
  ['/service/', '/route/', T, V, '/route/req', '/service/req'],
  ['/', null, B, V, '/route/', '/route/'],
  ['/service', null, B, V, '/', '/service'],
  ['/service', null, B, V0, '/route', '/service/route'],
  ['/service', null, B, V1, '/route', '/serviceroute'],
  ['/service/', null, B, V, '/route', '/service/route'],
  ['/service', '/route', T, V0, '/route./req', '/service/req'],
  ['/service', '/route', T, V1, '/route./req', '/servicereq'],
  ['/service/', '/route', T, V, '/route../req', '/service/req'],
  ['/service', '/route', T, V0, '/route%2E/req', '/service/req'],
  ['/service', '/route', T, V1, '/route%2e%2E/req', '/servicereq'],
  ['/service', '/route', F, V0, '/route./req', '/service/route./req'],
];

describe('upstream path: Kong path_handling table', () => {
  for (const [servicePath, routePath, strips, handlings, requestPath, expected] of rows) {
    for (const stripPath of strips) {
      for (const pathHandling of handlings) {
        it(`service ${servicePath} route ${routePath ?? '(host)'} strip=${stripPath} ${pathHandling}: ${requestPath} -> ${expected}`, () => {
          const path = normalizePath(requestPath);
          expect(path.startsWith(routePath ?? '')).toBe(true);
          const prefixLength = routePath === null ? -1 : routePath.length;
          expect(upstreamPath({ path, prefixLength, stripPath, pathHandling, servicePath })).toBe(expected);
        });
      }
    }
  }
});

describe('request path normalisation (Kong normalize(uri, true))', () => {
  const cases: [string, string][] = [
    ['/', '/'],
    ['/plain/path', '/plain/path'],
    ['/a/./b', '/a/b'],
    ['/a/../b', '/b'],
    ['/a/b/..', '/a/'],
    ['/..', '/'],
    ['//a//b', '/a/b'],
    ['/%61%62c', '/abc'],
    ['/a%2fb', '/a%2Fb'],
    ['/%2e%2E/x', '/x'],
    ['/route./req', '/route./req'],
    ['/a%zz', '/a%zz'],
  ];
  for (const [input, output] of cases) {
    it(`${input} -> ${output}`, () => {
      expect(normalizePath(input)).toBe(output);
    });
  }

  it('returns the very same string when nothing needs normalising', () => {
    const s = '/api/v1/users';
    expect(normalizePath(s)).toBe(s);
  });
});

describe('sanitizePostfix', () => {
  it("drops a leading dot segment, with or without ';' parameters (escaped or not)", () => {
    for (const [postfix, out] of [
      ['.', ''],
      ['..', ''],
      ['./x', 'x'],
      ['../x', 'x'],
      ['..;', ''],
      ['..;a/x', 'x'],
      ['.;a', ''],
      ['..%3B/x', 'x'],
      ['...', '...'],
      ['..a/x', '..a/x'],
      ['.x;a', '.x;a'],
    ] as const)
      expect(sanitizePostfix(postfix), postfix).toBe(out);
    // A strip route `/strip` with service path `/base`: `/strip..;/y` stays under `/base`.
    expect(
      upstreamPath({
        path: '/strip..;/y',
        prefixLength: 6,
        stripPath: true,
        pathHandling: 'v0',
        servicePath: '/base',
      }),
    ).toBe('/base/y');
  });
});

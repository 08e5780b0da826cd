import { describe, expect, it } from 'vitest';
import { isGatehouseError } from '../errors.js';
import {
  coerceFormInput,
  kongErrorBody,
  routeSchema,
  serviceSchema,
  validateRoute,
  validateService,
} from './index.js';

function violation(fn: () => unknown) {
  try {
    fn();
  } catch (e) {
    expect(isGatehouseError(e)).toBe(true);
    return kongErrorBody(e)!;
  }
  throw new Error('expected a schema violation');
}

describe('validateService', () => {
  it('fills Kong defaults for omitted fields', () => {
    expect(validateService({ host: 'example.com' })).toEqual({
      name: null,
      protocol: 'http',
      host: 'example.com',
      port: 80,
      path: null,
      retries: 5,
      connect_timeout: 60000,
      write_timeout: 60000,
      read_timeout: 60000,
      enabled: true,
      tags: null,
      client_certificate: null,
      tls_verify: null,
      tls_verify_depth: null,
      ca_certificates: null,
    });
  });

  it.each([
    ['http://a.example', { protocol: 'http', host: 'a.example', port: 80, path: null }],
    ['https://a.example/', { protocol: 'https', host: 'a.example', port: 443, path: '/' }],
    ['grpcs://a.example:9000', { protocol: 'grpcs', host: 'a.example', port: 9000, path: null }],
    ['http://10.0.0.1:8080/x/y', { protocol: 'http', host: '10.0.0.1', port: 8080, path: '/x/y' }],
  ])('splits the url shorthand %s', (url, expected) => {
    expect(validateService({ url })).toMatchObject(expected);
  });

  it('takes a PATCH base for omitted fields and still validates the result', () => {
    const base = validateService({ host: 'a.example', name: 'a', retries: 1 });
    expect(validateService({ port: 81 }, { base })).toMatchObject({ name: 'a', retries: 1, port: 81 });
    expect(
      violation(() => validateService({ protocol: 'tcp' }, { base: { ...base, path: '/x' } })).fields,
    ).toEqual({
      path: "value must be null when 'protocol' is 'tcp'",
    });
  });

  it('reports one field in the singular and several in the plural, like Kong', () => {
    expect(violation(() => validateService({ host: 'a.example', port: 65536 })).message).toBe(
      'schema violation (port: value should be between 0 and 65535)',
    );
    expect(violation(() => validateService({ port: 'x', retries: -1 })).message).toBe(
      // kong/db/errors.lua schema_violation: fields in key order.
      '3 schema violations (host: required field missing; port: expected an integer; retries: value should be between 0 and 32767)',
    );
  });

  it.each([
    [{ host: 'a b' }, 'host', 'invalid hostname'],
    [{ host: 'a.example', name: 'has space' }, 'name', expect.stringContaining('alphanumerics')],
    [
      { host: 'a.example', tags: ['ok', 'a,b'] },
      'tags',
      [null, expect.stringContaining("invalid tag 'a,b'")],
    ],
    [{ host: 'a.example', tags: ['x', 'x'] }, 'tags', [null, "duplicate value 'x'"]],
    [
      { host: 'a.example', write_timeout: 2 ** 31 - 1 },
      'write_timeout',
      'value should be between 1 and 2147483646',
    ],
    [{ host: 'a.example', path: '/a//b' }, 'path', 'must not have empty segments'],
    // Kong reads "not a url" as a path (LuaSocket's url.parse): no host, a path without `/`.
    [{ url: 'not a url' }, 'path', 'should start with: /'],
    [{ url: 'not a url' }, 'host', 'required field missing'],
  ])('rejects %j', (input, field, message) => {
    expect(violation(() => validateService(input)).fields?.[field]).toEqual(message);
  });

  it('accepts IPv4, IPv6 and unicode-free hostnames', () => {
    for (const host of ['10.1.2.3', '::1', 'svc_1.ns.svc.cluster.local', 'localhost']) {
      expect(validateService({ host }).host).toBe(host);
    }
  });
});

describe('validateRoute', () => {
  it('fills Kong defaults and lower-cases header names and hosts', () => {
    expect(validateRoute({ hosts: ['API.Example.com:8080'], headers: { 'X-Version': 'v1' } })).toMatchObject({
      protocols: ['http', 'https'],
      hosts: ['api.example.com:8080'],
      headers: { 'x-version': ['v1'] },
      strip_path: true,
      path_handling: 'v0',
      https_redirect_status_code: 426,
      service: null,
    });
  });

  it.each([
    [
      { paths: ['/a'], headers: { host: ['x'] } },
      'headers',
      expect.stringContaining("cannot contain 'host' header"),
    ],
    [{ hosts: ['*.a.*'] }, 'hosts', ['only one wildcard must be specified']],
    [{ paths: ['/a'], protocols: [] }, 'protocols', 'length must be at least 1'],
    [{ paths: ['/a'], protocols: ['http', 'tcp'] }, 'protocols', expect.stringContaining('mixing')],
    [
      { paths: ['/a'], sources: [{ ip: '10.0.0.0/8' }] },
      'sources',
      expect.stringContaining("cannot set 'sources'"),
    ],
    [{ paths: ['/a'], service: { id: 'nope' } }, 'service', { id: 'expected a valid UUID' }],
    [{ paths: ['/a'], regex_priority: 1.5 }, 'regex_priority', 'expected an integer'],
  ])('rejects %j', (input, field, message) => {
    expect(violation(() => validateRoute(input)).fields?.[field]).toEqual(message);
  });

  it('accepts regex paths that compile and stream routes with sources', () => {
    expect(validateRoute({ paths: ['~/users/(?<id>\\d+)$'] }).paths).toEqual(['~/users/(?<id>\\d+)$']);
    expect(validateRoute({ protocols: ['tcp'], sources: [{ ip: '10.0.0.0/8', port: 80 }] }).sources).toEqual([
      { ip: '10.0.0.0/8', port: 80 },
    ]);
  });

  it('keeps empty sets apart from unset ones, as Kong returns them (09-routes_routes_spec.lua)', () => {
    expect(validateRoute({ paths: ['/a'], methods: [], tags: [] })).toMatchObject({
      methods: [],
      tags: [],
      hosts: null,
    });
    expect(validateRoute({ paths: ['/a'], methods: null })).toMatchObject({ methods: null, tags: null });
  });

  it('an empty set does not count as set for the route checks (Kong is_nonempty)', () => {
    expect(() => validateRoute({ paths: [], hosts: [], methods: [] })).toThrow(
      /must set one of 'methods', 'hosts', 'headers', 'paths', 'snis'/,
    );
    expect(validateRoute({ protocols: ['http'], paths: ['/a'], snis: [] })).toMatchObject({ snis: [] });
  });
});

describe('coerceFormInput', () => {
  it('turns form strings into typed values by field kind', () => {
    expect(
      coerceFormInput(
        {
          'paths[]': ['/a', '/b'],
          'service.name': 'svc',
          'headers.x-a': 'v',
          strip_path: 'false',
          regex_priority: '3',
          name: '',
        },
        routeSchema,
      ),
    ).toEqual({
      paths: ['/a', '/b'],
      service: { name: 'svc' },
      headers: { 'x-a': ['v'] },
      strip_path: false,
      regex_priority: 3,
      name: null,
    });
    expect(coerceFormInput({ port: '8o', url: 'http://a' }, serviceSchema)).toEqual({
      port: '8o',
      url: 'http://a',
    });
  });
});

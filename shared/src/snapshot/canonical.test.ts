import { describe, expect, it } from 'vitest';
import {
  ROUTE_DEFAULTS,
  SERVICE_DEFAULTS,
  type GatehouseConfig,
  type Route,
  type Service,
} from '../config/model.js';
import { completeConfig, emptyConfig } from '../entities/registry.js';
import { canonicalJson, encodeConfig, sha256Hex } from './canonical.js';

const service = (id: string, name: string): Service => ({
  ...SERVICE_DEFAULTS,
  id,
  name,
  host: `${name}.internal`,
  tags: ['b', 'a'],
  created_at: 1_700_000_000,
  updated_at: 1_700_000_000,
});

const route = (id: string, serviceId: string): Route => ({
  ...ROUTE_DEFAULTS,
  protocols: ['http', 'https'],
  id,
  name: `r-${id}`,
  paths: ['/z', '/a'],
  headers: { 'x-b': ['2'], 'x-a': ['1'] },
  service: { id: serviceId },
  created_at: 1_700_000_000,
  updated_at: 1_700_000_000,
});

/** Rebuilds every object with its keys in reverse order (arrays keep their order). */
function reverseKeys<T>(value: T): T {
  if (Array.isArray(value)) return value.map(reverseKeys) as T;
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).reverse())
      out[key] = reverseKeys((value as Record<string, unknown>)[key]);
    return out as T;
  }
  return value;
}

const config = (): GatehouseConfig =>
  completeConfig({
    services: [service('0b', 'billing'), service('0a', 'accounts'), service('0c', 'catalog')],
    routes: [route('2', '0a'), route('1', '0b'), route('3', '0c')],
  });

const PINNED_EMPTY_HASH = 'f64bef99bbcb797083fef642eafb5b6e8f8c9af52add3a1ad90178eab8850de6';

describe('canonical encoding', () => {
  it('gives the same bytes and hash whatever the key order of every object', () => {
    const a = encodeConfig(config());
    const b = encodeConfig(reverseKeys(config()));
    expect(b.bytes.equals(a.bytes)).toBe(true);
    expect(b.hash).toBe(a.hash);
  });

  it('gives the same bytes and hash whatever the order of the entity lists', () => {
    const shuffled = config();
    shuffled.services.reverse();
    shuffled.routes = [shuffled.routes[2]!, shuffled.routes[0]!, shuffled.routes[1]!];
    expect(encodeConfig(shuffled).bytes.equals(encodeConfig(config()).bytes)).toBe(true);
    expect(
      encodeConfig({ ...emptyConfig(), routes: config().routes, services: config().services }).hash,
    ).toBe(encodeConfig(config()).hash);
  });

  it('sorts entities by id and object keys lexically, with no whitespace', () => {
    const text = encodeConfig(config()).bytes.toString('utf8');
    const services = text.slice(text.indexOf('"services":['));
    expect(services.indexOf('"id":"0a"')).toBeLessThan(services.indexOf('"id":"0b"'));
    expect(services.indexOf('"id":"0b"')).toBeLessThan(services.indexOf('"id":"0c"'));
    expect(text.indexOf('"name":"r-1"')).toBeLessThan(text.indexOf('"name":"r-2"'));
    expect(text.startsWith('{"acls":[],"basicauth_credentials":[]')).toBe(true);
    expect(text).not.toMatch(/\s/);
    expect(text).toContain('"headers":{"x-a":["1"],"x-b":["2"]}');
  });

  it('keeps the order inside value arrays (paths, tags), which carries meaning', () => {
    const swapped = config();
    swapped.routes[0]!.paths = ['/a', '/z'];
    expect(encodeConfig(swapped).hash).not.toBe(encodeConfig(config()).hash);
  });

  it('changes the hash when any field changes', () => {
    const changed = config();
    changed.services[1]!.port = 81;
    expect(encodeConfig(changed).hash).not.toBe(encodeConfig(config()).hash);
  });

  it('is pinned to a known hash for the empty config, so every replica and release agrees', () => {
    const { bytes, hash } = encodeConfig(emptyConfig());
    expect(bytes.toString('utf8')).toBe(
      '{"acls":[],"basicauth_credentials":[],"ca_certificates":[],"certificates":[],"consumer_group_consumers":[],' +
        '"consumer_groups":[],"consumers":[],"hmacauth_credentials":[],"jwt_secrets":[],"key_sets":[],' +
        '"keyauth_credentials":[],"keys":[],"mtls_auth_credentials":[],"oauth2_credentials":[],"oauth2_token_revocations":[],"plugins":[],"routes":[],"services":[],"snis":[],"targets":[],' +
        '"upstreams":[],"vaults":[]}',
    );
    expect(hash).toBe(PINNED_EMPTY_HASH);
    expect(sha256Hex(bytes)).toBe(hash);
  });

  it('drops undefined fields and writes bigints as decimal strings', () => {
    expect(canonicalJson({ b: undefined, a: 10n, c: [1, { z: 1, y: undefined }] })).toBe(
      '{"a":"10","c":[1,{"z":1}]}',
    );
  });

  it('does not mutate the config it encodes', () => {
    const c = config();
    const before = JSON.stringify(c);
    encodeConfig(c);
    expect(JSON.stringify(c)).toBe(before);
  });

  it('keeps a "__proto__" key (a legal header name) in the canonical bytes', () => {
    const value = JSON.parse('{"headers":{"__proto__":["x"],"a":["1"]}}') as unknown;
    expect(canonicalJson(value)).toBe('{"headers":{"__proto__":["x"],"a":["1"]}}');
  });
});

import { createHash } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';

// Wrap the real timingSafeEqual in a spy: the token check must go through it.
vi.mock('node:crypto', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:crypto')>();
  return { ...actual, timingSafeEqual: vi.fn(actual.timingSafeEqual) };
});

const crypto = await import('node:crypto');
const { adminGuiOrigins, checkAdminAccess, hostName, isLoopbackListen, isLoopbackName, tokenMatches } =
  await import('./access.js');
const { adminTokenProblem, normaliseOrigin, parseAdminGuiListen } = await import('./access-settings.js');
const { allowedMethods } = await import('./cors.js');

const TOKEN = 'correct-horse-battery-staple';
const digest = createHash('sha256').update(TOKEN).digest();

describe('admin token comparison', () => {
  it('uses crypto.timingSafeEqual for right, wrong, shorter, longer and missing tokens', () => {
    const spy = vi.mocked(crypto.timingSafeEqual);
    spy.mockClear();
    expect(tokenMatches(digest, TOKEN)).toBe(true);
    expect(tokenMatches(digest, TOKEN.slice(0, -1))).toBe(false);
    expect(tokenMatches(digest, TOKEN + 'x')).toBe(false);
    expect(tokenMatches(digest, 'x')).toBe(false);
    expect(tokenMatches(digest, undefined)).toBe(false);
    expect(spy).toHaveBeenCalledTimes(5);
  });

  it('refuses tokens a header cannot carry, and short ones', () => {
    expect(adminTokenProblem(TOKEN)).toBeUndefined();
    expect(adminTokenProblem('short')).toMatch(/at least 16/);
    expect(adminTokenProblem('with space in the token')).toMatch(/printable ASCII/);
    expect(adminTokenProblem('tøken-with-non-ascii-chars')).toMatch(/printable ASCII/);
  });
});

describe('hosts and origins', () => {
  it('reads Host headers', () => {
    expect(hostName('127.0.0.1:8001')).toBe('127.0.0.1');
    expect(hostName('LocalHost.:8001')).toBe('localhost');
    expect(hostName('[0:0:0:0:0:0:0:1]:8001')).toBe('[::1]');
    expect(hostName('evil.example')).toBe('evil.example');
    for (const bad of ['', ' ', 'a b', 'user@127.0.0.1', '127.0.0.1/x', '[::1', '::1', 'x:y', '[zz]'])
      expect(hostName(bad), bad).toBeUndefined();
  });

  it('knows loopback names', () => {
    for (const n of ['localhost', '127.0.0.1', '127.9.8.7', '[::1]', '[::ffff:127.0.0.1]'])
      expect(isLoopbackName(hostName(n) ?? n), n).toBe(true);
    for (const n of ['0.0.0.0', '10.0.0.1', 'localhost.evil.example', '127.0.0.1.nip.io', '[::]', '[::2]'])
      expect(isLoopbackName(hostName(n) ?? n), n).toBe(false);
    expect(isLoopbackListen('127.0.0.1')).toBe(true);
    expect(isLoopbackListen('::1')).toBe(true);
    expect(isLoopbackListen('localhost')).toBe(true);
    expect(isLoopbackListen('0.0.0.0')).toBe(false);
    expect(isLoopbackListen('::')).toBe(false);
    expect(isLoopbackListen('192.168.1.10')).toBe(false);
  });

  it('normalises origins and refuses what is not one', () => {
    expect(normaliseOrigin('http://LOCALHOST:8002/')).toBe('http://localhost:8002');
    expect(normaliseOrigin('https://admin.example:443')).toBe('https://admin.example');
    for (const bad of ['*', 'null', 'localhost:8002', 'http://a/b', 'http://u:p@a', 'ftp://a', 'http://a?x'])
      expect(normaliseOrigin(bad), bad).toBeUndefined();
  });
});

describe('checkAdminAccess', () => {
  it('refuses a non-loopback listen without a token, naming the setting', () => {
    for (const listenHost of ['0.0.0.0', '::', '10.1.2.3', 'admin.internal'])
      expect(() => checkAdminAccess({ listenHost }), listenHost).toThrow(
        /--admin-token \(GATEHOUSE_ADMIN_TOKEN\)/,
      );
    expect(() => checkAdminAccess({ listenHost: '0.0.0.0', token: TOKEN })).not.toThrow();
    expect(() => checkAdminAccess({ listenHost: '127.0.0.1' })).not.toThrow();
  });

  it('names a bad origin, host or token', () => {
    expect(() => checkAdminAccess({ listenHost: '127.0.0.1', origins: ['http://a/path'] })).toThrow(
      /--admin-origins/,
    );
    expect(() => checkAdminAccess({ listenHost: '127.0.0.1', hosts: ['admin.example:8001'] })).toThrow(
      /--admin-hosts/,
    );
    expect(() => checkAdminAccess({ listenHost: '127.0.0.1', token: 'short' })).toThrow(/at least 16/);
  });
});

describe('admin UI origins (--admin-gui-listen)', () => {
  it('parses host:port[ ssl] entries and off', () => {
    expect(parseAdminGuiListen(['127.0.0.1:8002'])).toEqual([{ host: '127.0.0.1', port: 8002, ssl: false }]);
    expect(parseAdminGuiListen(['0.0.0.0:8002', '0.0.0.0:8445 ssl'])).toEqual([
      { host: '0.0.0.0', port: 8002, ssl: false },
      { host: '0.0.0.0', port: 8445, ssl: true },
    ]);
    expect(parseAdminGuiListen(['off'])).toEqual([]);
    for (const bad of ['8002', 'localhost', 'a:b', '127.0.0.1:0', '127.0.0.1:8002 tls', 'http://a:1'])
      expect(() => parseAdminGuiListen([bad]), bad).toThrow(/--admin-gui-listen/);
  });

  it('derives the origins a browser on this machine uses for a loopback or unspecified host', () => {
    expect(adminGuiOrigins(parseAdminGuiListen(['127.0.0.1:8002']))).toEqual([
      'http://localhost:8002',
      'http://127.0.0.1:8002',
    ]);
    expect(adminGuiOrigins(parseAdminGuiListen(['0.0.0.0:8445 ssl']))).toEqual([
      'https://localhost:8445',
      'https://127.0.0.1:8445',
    ]);
    expect(adminGuiOrigins(parseAdminGuiListen(['[::1]:8002']))).toEqual([
      'http://localhost:8002',
      'http://127.0.0.1:8002',
      'http://[::1]:8002',
    ]);
    expect(adminGuiOrigins(parseAdminGuiListen(['admin.internal:8002', '10.0.0.5:80']))).toEqual([
      'http://admin.internal:8002',
      'http://10.0.0.5',
    ]);
    expect(adminGuiOrigins([])).toEqual([]);
  });
});

describe('Allow (Kong: api_helpers.lua options_method)', () => {
  it("lists a route's methods with HEAD for GET and OPTIONS, sorted; .all() is not a method", () => {
    expect(allowedMethods({ methods: { get: true, _all: true } })).toBe('GET, HEAD, OPTIONS');
    expect(allowedMethods({ methods: { get: true, post: true, _all: true } })).toBe(
      'GET, HEAD, OPTIONS, POST',
    );
    expect(allowedMethods({ methods: { get: true, patch: true, put: true, delete: true } })).toBe(
      'DELETE, GET, HEAD, OPTIONS, PATCH, PUT',
    );
    expect(allowedMethods(undefined)).toBe('OPTIONS');
  });
});

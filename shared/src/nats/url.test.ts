import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isGatehouseError } from '../errors.js';
import { hideNatsCredentials, parseNatsUrl } from './url.js';

describe('NATS_URL (both planes)', () => {
  it('takes credentials out of the URLs into client options', () => {
    expect(parseNatsUrl('nats://app:s%3Acret@10.0.0.1:4222, nats://app:s%3Acret@10.0.0.2')).toEqual({
      servers: ['10.0.0.1:4222', '10.0.0.2'],
      user: 'app',
      pass: 's:cret',
      tls: false,
    });
    expect(parseNatsUrl('nats://t0ken@h:4222')).toEqual({ servers: ['h:4222'], token: 't0ken', tls: false });
    expect(parseNatsUrl('127.0.0.1:4222')).toEqual({ servers: ['127.0.0.1:4222'], tls: false });
    expect(parseNatsUrl('tls://nats.internal:4222').tls).toBe(true);
  });

  it('refuses a malformed setting naming the problem and never echoing a password', () => {
    const problem = (v: string) => {
      try {
        parseNatsUrl(v);
        return null;
      } catch (e) {
        expect(isGatehouseError(e) && e.code === 'GH_ERR_CONFIG_INVALID_SETTING').toBe(true);
        return (e as Error).message;
      }
    };
    expect(problem('http://h:4222')).toMatch(/scheme must be nats:\/\/ or tls:\/\//);
    expect(problem('nats://h:4222,')).toMatch(/empty server/);
    expect(problem('nats://h:4222/x')).toMatch(/no path/);
    expect(problem('nats://a:b@h1,nats://c:d@h2')).toMatch(/different credentials/);
    expect(problem('nats://user:hunter2@h:99999')).not.toMatch(/hunter2/);
  });

  it('refuses a user or password that is not valid percent-encoding with a typed error', () => {
    // Found by the property below: decodeURIComponent threw a URIError.
    for (const bad of ['%@$', 'nats://%@127.0.0.1:4222', 'nats://u:%E0%A4%A@127.0.0.1:4222']) {
      let thrown: unknown;
      try {
        parseNatsUrl(bad);
      } catch (e) {
        thrown = e;
      }
      expect(isGatehouseError(thrown)).toBe(true);
    }
  });

  it('either parses or throws a typed error for any string (fast-check)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (v) => {
        try {
          const r = parseNatsUrl(v);
          expect(r.servers.length).toBeGreaterThan(0);
          for (const s of r.servers) expect(s).not.toMatch(/@|\/\//);
        } catch (e) {
          expect(isGatehouseError(e)).toBe(true);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('never shows a password or token in an error, whatever it holds (fast-check)', () => {
    // Any secret, even one with `/`, `?`, `#`, `:` or `@` left unescaped, glued to a hostile rest.
    const secret = fc.string({ minLength: 1, maxLength: 30 }).map((s) => `Sx${s}Q9`);
    const hostile = fc.oneof(
      fc.constant('127.0.0.1:4222'),
      fc.constant('h:99999'),
      fc.constant('[::1'),
      fc.constant('h/path'),
      fc.string({ maxLength: 40 }),
    );
    fc.assert(
      fc.property(
        secret,
        hostile,
        fc.constantFrom('nats://u:', 'tls://u:', 'nats://', 'u:', '', 'http://u:'),
        (pw, rest, prefix) => {
          const value = `${prefix}${pw}@${rest}`;
          try {
            const r = parseNatsUrl(value);
            expect(JSON.stringify(r.servers)).not.toContain(pw);
          } catch (e) {
            expect(isGatehouseError(e)).toBe(true);
            expect((e as Error).message).not.toContain(pw);
          }
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('masks everything before the last @ of an entry', () => {
    expect(hideNatsCredentials('nats://u:p@ss/w?rd@h:1')).toBe('nats://***@h:1');
    expect(hideNatsCredentials('tok@h')).toBe('***@h');
    expect(hideNatsCredentials('nats://h:1')).toBe('nats://h:1');
  });
});

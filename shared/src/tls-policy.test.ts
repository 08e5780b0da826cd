import tls from 'node:tls';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CIPHER_SUITE_NAMES,
  CIPHER_SUITES,
  DEFAULT_TLS_POLICY,
  parseProtocols,
  secureContextOptions,
  tlsPolicy,
  TlsPolicyError,
  TLS_PROTOCOLS,
} from './tls-policy.js';

describe('TLS policy of the HTTPS listener', () => {
  it("defaults to Kong's intermediate suite: TLS 1.2 and 1.3, AEAD ciphers with forward secrecy", () => {
    expect(DEFAULT_TLS_POLICY).toEqual({
      suite: 'intermediate',
      minVersion: 'TLSv1.2',
      maxVersion: 'TLSv1.3',
      ciphers: CIPHER_SUITES.intermediate.ciphers,
      honorCipherOrder: false,
    });
    for (const c of DEFAULT_TLS_POLICY.ciphers!.split(':'))
      expect(c).toMatch(/^(ECDHE|DHE)-.*(GCM|POLY1305)/);
  });

  it('modern is TLS 1.3 only with OpenSSL defaults; old and fips prefer the server order', () => {
    expect(tlsPolicy('modern')).toMatchObject({
      minVersion: 'TLSv1.3',
      maxVersion: 'TLSv1.3',
      ciphers: null,
    });
    expect(tlsPolicy('old')).toMatchObject({
      minVersion: 'TLSv1',
      maxVersion: 'TLSv1.3',
      honorCipherOrder: true,
    });
    expect(tlsPolicy('fips')).toMatchObject({
      minVersion: 'TLSv1.2',
      maxVersion: 'TLSv1.2',
      honorCipherOrder: true,
    });
  });

  it('every named suite makes a secure context OpenSSL accepts', () => {
    for (const name of CIPHER_SUITE_NAMES) {
      if (name === 'custom') continue;
      expect(() => tls.createSecureContext(secureContextOptions(tlsPolicy(name)))).not.toThrow();
    }
  });

  it('custom takes --ssl-ciphers and --ssl-protocols (default "TLSv1.2 TLSv1.3")', () => {
    expect(tlsPolicy('custom', 'ECDHE-RSA-AES256-GCM-SHA384')).toEqual({
      suite: 'custom',
      minVersion: 'TLSv1.2',
      maxVersion: 'TLSv1.3',
      ciphers: 'ECDHE-RSA-AES256-GCM-SHA384',
      honorCipherOrder: true,
    });
    expect(tlsPolicy('custom', 'ECDHE-RSA-AES256-GCM-SHA384', 'TLSv1.3, TLSv1.2')).toMatchObject({
      minVersion: 'TLSv1.2',
      maxVersion: 'TLSv1.3',
    });
  });

  it('refuses what it would otherwise ignore or cannot honour, naming the setting', () => {
    expect(() => tlsPolicy('intermediate', 'AES128-SHA')).toThrow(
      /--ssl-ciphers needs --ssl-cipher-suite custom/,
    );
    expect(() => tlsPolicy('modern', undefined, 'TLSv1.2')).toThrow(
      /--ssl-protocols needs --ssl-cipher-suite custom/,
    );
    expect(() => tlsPolicy('custom')).toThrow(/--ssl-cipher-suite custom needs --ssl-ciphers/);
    expect(() => tlsPolicy('custom', 'NOT-A-CIPHER')).toThrow(/^--ssl-ciphers: .*no cipher match/);
    expect(() => tlsPolicy('custom', 'AES128-SHA', 'TLSv1 TLSv1.3')).toThrow(
      '--ssl-protocols: must name consecutive versions; missing TLSv1.1, TLSv1.2',
    );
    expect(() => tlsPolicy('custom', 'AES128-SHA', 'SSLv3')).toThrow(
      /--ssl-protocols: unknown protocol "SSLv3"/,
    );
    expect(() => tlsPolicy('custom', 'AES128-SHA', ' ')).toThrow(/--ssl-protocols: names no protocol/);
  });

  it('any --ssl-protocols text gives a consecutive range or a TlsPolicyError, never another error', () => {
    const word = fc.oneof(fc.constantFrom(...TLS_PROTOCOLS, 'SSLv3', 'tlsv1.2', ''), fc.string());
    fc.assert(
      fc.property(fc.array(word, { maxLength: 6 }), fc.constantFrom(' ', ',', ', ', '\t'), (words, sep) => {
        let range;
        try {
          range = parseProtocols(words.join(sep));
        } catch (e) {
          expect(e).toBeInstanceOf(TlsPolicyError);
          return;
        }
        const min = TLS_PROTOCOLS.indexOf(range.minVersion);
        const max = TLS_PROTOCOLS.indexOf(range.maxVersion);
        expect(min).toBeGreaterThanOrEqual(0);
        expect(max).toBeGreaterThanOrEqual(min);
      }),
    );
  });

  it('any --ssl-ciphers text gives a usable policy or a TlsPolicyError, never another error', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), (ciphers) => {
        try {
          const policy = tlsPolicy('custom', ciphers);
          expect(() => tls.createSecureContext(secureContextOptions(policy))).not.toThrow();
        } catch (e) {
          expect(e).toBeInstanceOf(TlsPolicyError);
        }
      }),
      { numRuns: 300 },
    );
  });
});

/**
 * What the HTTPS proxy listener accepts: protocol versions and cipher suites, from Kong's
 * `ssl_cipher_suite` (the Mozilla Server Side TLS profiles Kong ships, default `intermediate`:
 * TLS 1.2 and 1.3, AEAD ciphers with forward secrecy only), or `custom` with `ssl_ciphers` and
 * `ssl_protocols`. One policy per listener: OpenSSL keeps the listener's cipher list and versions
 * when the SNI callback switches to a certificate's context, so the per-certificate contexts need
 * not repeat it (e2e/proxy-tls-policy.test.ts checks a weak cipher is refused on an SNI name).
 */
import tls from 'node:tls';

export const TLS_PROTOCOLS = [
  'TLSv1',
  'TLSv1.1',
  'TLSv1.2',
  'TLSv1.3',
] as const satisfies readonly tls.SecureVersion[];
type Protocol = (typeof TLS_PROTOCOLS)[number];

interface Suite {
  /** Kong's `protocols` for the suite, as Kong writes them. */
  protocols: string;
  /** OpenSSL cipher list for TLS ≤ 1.2; undefined = OpenSSL's defaults (the TLS 1.3 suites). */
  ciphers: string | undefined;
  /** Kong's `prefer_server_ciphers`. */
  preferServerCiphers: boolean;
}

const AEAD_FORWARD_SECRET = [
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
  'DHE-RSA-AES128-GCM-SHA256',
  'DHE-RSA-AES256-GCM-SHA384',
  'DHE-RSA-CHACHA20-POLY1305',
];

/** Kong's CIPHER_SUITES (Mozilla Server Side TLS 5.7), by the same names. */
export const CIPHER_SUITES = {
  modern: { protocols: 'TLSv1.3', ciphers: undefined, preferServerCiphers: false },
  intermediate: {
    protocols: 'TLSv1.2 TLSv1.3',
    ciphers: AEAD_FORWARD_SECRET.join(':'),
    preferServerCiphers: false,
  },
  old: {
    protocols: 'TLSv1 TLSv1.1 TLSv1.2 TLSv1.3',
    ciphers: [
      ...AEAD_FORWARD_SECRET,
      'ECDHE-ECDSA-AES128-SHA256',
      'ECDHE-RSA-AES128-SHA256',
      'ECDHE-ECDSA-AES128-SHA',
      'ECDHE-RSA-AES128-SHA',
      'ECDHE-ECDSA-AES256-SHA384',
      'ECDHE-RSA-AES256-SHA384',
      'ECDHE-ECDSA-AES256-SHA',
      'ECDHE-RSA-AES256-SHA',
      'DHE-RSA-AES128-SHA256',
      'DHE-RSA-AES256-SHA256',
      'AES128-GCM-SHA256',
      'AES256-GCM-SHA384',
      'AES128-SHA256',
      'AES256-SHA256',
      'AES128-SHA',
      'AES256-SHA',
      'DES-CBC3-SHA',
    ].join(':'),
    preferServerCiphers: true,
  },
  fips: { protocols: 'TLSv1.2', ciphers: 'TLSv1.2+FIPS:kRSA+FIPS:!eNULL:!aNULL', preferServerCiphers: true },
} as const satisfies Record<string, Suite>;

export const CIPHER_SUITE_NAMES = [
  ...(Object.keys(CIPHER_SUITES) as (keyof typeof CIPHER_SUITES)[]),
  'custom',
] as const;
export type CipherSuiteName = (typeof CIPHER_SUITE_NAMES)[number];

/** Kong's default `ssl_protocols`, used with `custom`. */
export const DEFAULT_SSL_PROTOCOLS = 'TLSv1.2 TLSv1.3';

/** Plain data (it travels to the workers in their settings). */
export interface TlsPolicy {
  suite: CipherSuiteName;
  minVersion: tls.SecureVersion;
  maxVersion: tls.SecureVersion;
  ciphers: string | null;
  honorCipherOrder: boolean;
}

export class TlsPolicyError extends Error {}

/**
 * Kong's `ssl_protocols`: protocol names separated by spaces (commas accepted). Node takes a
 * range, so the versions named must follow each other (`TLSv1.2 TLSv1.3`, not `TLSv1 TLSv1.3`).
 */
export function parseProtocols(text: string): {
  minVersion: tls.SecureVersion;
  maxVersion: tls.SecureVersion;
} {
  const names = text.split(/[\s,]+/).filter((s) => s !== '');
  if (names.length === 0) throw new TlsPolicyError('names no protocol (e.g. "TLSv1.2 TLSv1.3")');
  const indexes = new Set<number>();
  for (const name of names) {
    const i = TLS_PROTOCOLS.indexOf(name as Protocol);
    if (i < 0) throw new TlsPolicyError(`unknown protocol "${name}" (known: ${TLS_PROTOCOLS.join(', ')})`);
    indexes.add(i);
  }
  const sorted = [...indexes].sort((a, b) => a - b);
  const min = sorted[0]!;
  const max = sorted[sorted.length - 1]!;
  if (max - min + 1 !== sorted.length) {
    const missing = TLS_PROTOCOLS.slice(min, max + 1).filter((_, k) => !indexes.has(min + k));
    throw new TlsPolicyError(`must name consecutive versions; missing ${missing.join(', ')}`);
  }
  return { minVersion: TLS_PROTOCOLS[min]!, maxVersion: TLS_PROTOCOLS[max]! };
}

/**
 * The policy for `ssl_cipher_suite` (+ `ssl_ciphers` and `ssl_protocols`, which only `custom`
 * takes — given with a named suite they would be silently overridden, as in Kong, so they are
 * refused instead). Throws TlsPolicyError naming the setting at fault.
 */
export function tlsPolicy(suite: CipherSuiteName, ciphers?: string, protocols?: string): TlsPolicy {
  if (suite !== 'custom') {
    if (ciphers !== undefined)
      throw new TlsPolicyError(`--ssl-ciphers needs --ssl-cipher-suite custom (it is ${suite})`);
    if (protocols !== undefined)
      throw new TlsPolicyError(`--ssl-protocols needs --ssl-cipher-suite custom (it is ${suite})`);
    const s: Suite = CIPHER_SUITES[suite];
    return {
      suite,
      ...withSetting('--ssl-cipher-suite', () => parseProtocols(s.protocols)),
      ciphers: s.ciphers ?? null,
      honorCipherOrder: s.preferServerCiphers,
    };
  }
  if (ciphers === undefined || ciphers.trim() === '')
    throw new TlsPolicyError('--ssl-cipher-suite custom needs --ssl-ciphers (an OpenSSL cipher list)');
  const policy: TlsPolicy = {
    suite,
    ...withSetting('--ssl-protocols', () => parseProtocols(protocols ?? DEFAULT_SSL_PROTOCOLS)),
    ciphers: ciphers.trim(),
    honorCipherOrder: true,
  };
  withSetting('--ssl-ciphers', () => tls.createSecureContext(secureContextOptions(policy)));
  return policy;
}

/** Options for tls.createServer / createSecureContext. DHE suites get OpenSSL's built-in groups. */
export function secureContextOptions(
  policy: TlsPolicy,
): tls.SecureContextOptions & { honorCipherOrder: boolean } {
  return {
    minVersion: policy.minVersion,
    maxVersion: policy.maxVersion,
    ...(policy.ciphers === null ? {} : { ciphers: policy.ciphers }),
    honorCipherOrder: policy.honorCipherOrder,
    dhparam: 'auto',
  };
}

/** The default listener policy: Kong's default suite. */
export const DEFAULT_TLS_POLICY: TlsPolicy = tlsPolicy('intermediate');

function withSetting<T>(setting: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    const message = (e as Error).message;
    throw new TlsPolicyError(message.startsWith(setting) ? message : `${setting}: ${message}`);
  }
}

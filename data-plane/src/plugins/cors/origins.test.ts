import { describe, expect, it } from 'vitest';
import { schema } from '@gatehouse/shared';
import {
  compileCors,
  isPreflight,
  normalizeOrigin,
  preflightHeaders,
  responseHeaders,
  type CorsRequest,
  type HeaderOp,
} from './origins.js';
import { corsSpec, type CorsConfig } from './schema.js';

/** The config of `{}`: Kong's defaults. */
const BASE: CorsConfig = schema.validate<CorsConfig>(corsSpec.schema, {}).value;

function cors(fields: Partial<CorsConfig>) {
  return compileCors({ ...BASE, ...fields });
}

/** The final value of each header after applying the ops in order to an empty header set. */
function apply(ops: HeaderOp[], initial: Record<string, string> = {}): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(initial)) out[k.toLowerCase()] = v;
  for (const op of ops) {
    const name = op.name.toLowerCase();
    if (op.op === 'remove') delete out[name];
    else if (op.op === 'add' && out[name] !== undefined) out[name] = `${out[name]}, ${op.value}`;
    else out[name] = op.value;
  }
  return out;
}

const preflight = (origin: string, extra: Partial<CorsRequest> = {}): CorsRequest => ({
  method: 'OPTIONS',
  origin,
  requestMethod: 'POST',
  requestHeaders: undefined,
  requestPrivateNetwork: undefined,
  ...extra,
});

describe('normalizeOrigin', () => {
  it('drops default ports, keeps others, lower-cases scheme and host', () => {
    expect(normalizeOrigin('http://example.com:80').domain).toBe('http://example.com');
    expect(normalizeOrigin('https://Example.com:443/x').domain).toBe('https://example.com');
    expect(normalizeOrigin('https://example.com:8443').domain).toBe('https://example.com:8443');
    expect(normalizeOrigin('http://[::1]:8080')).toEqual({ domain: 'http://[::1]:8080', host: '[::1]' });
    expect(normalizeOrigin('example.com')).toEqual({ domain: 'example.com', host: 'example.com' });
  });
});

describe('isPreflight', () => {
  it('needs OPTIONS, a non-empty Origin and Access-Control-Request-Method', () => {
    expect(isPreflight(preflight('http://a.test'))).toBe(true);
    expect(isPreflight(preflight(''))).toBe(false);
    expect(isPreflight({ ...preflight('http://a.test'), method: 'GET' })).toBe(false);
    expect(isPreflight({ ...preflight('http://a.test'), requestMethod: undefined })).toBe(false);
  });
});

describe('preflightHeaders', () => {
  it('allows every origin and method by default', () => {
    const h = apply(preflightHeaders(cors({}), preflight('http://a.test')));
    expect(h['access-control-allow-origin']).toBe('*');
    expect(h['access-control-allow-methods']).toBe('GET,HEAD,PUT,PATCH,POST,DELETE,OPTIONS,TRACE,CONNECT');
    expect(h.vary).toBeUndefined();
    expect(h['access-control-allow-credentials']).toBeUndefined();
  });

  it('allows every method when methods is an explicit null (kept null, as Kong keeps it)', () => {
    const config = schema.validate<CorsConfig>(corsSpec.schema, { methods: null }).value;
    expect(config.methods).toBeNull();
    const h = apply(preflightHeaders(compileCors(config), preflight('http://a.test')));
    expect(h['access-control-allow-methods']).toBe('GET,HEAD,PUT,PATCH,POST,DELETE,OPTIONS,TRACE,CONNECT');
  });

  it('echoes the requested headers unless headers are configured', () => {
    expect(
      apply(preflightHeaders(cors({}), preflight('http://a.test', { requestHeaders: 'X-A, X-B' })))[
        'access-control-allow-headers'
      ],
    ).toBe('X-A, X-B');
    expect(
      apply(
        preflightHeaders(
          cors({ headers: ['X-Only'] }),
          preflight('http://a.test', { requestHeaders: 'X-A' }),
        ),
      )['access-control-allow-headers'],
    ).toBe('X-Only');
  });

  it('sets max age, methods and private network only when asked for', () => {
    const c = cors({ max_age: 3600, methods: ['GET', 'POST'], private_network: true });
    const h = apply(preflightHeaders(c, preflight('http://a.test', { requestPrivateNetwork: 'true' })));
    expect(h['access-control-max-age']).toBe('3600');
    expect(h['access-control-allow-methods']).toBe('GET,POST');
    expect(h['access-control-allow-private-network']).toBe('true');
    expect(
      apply(preflightHeaders(c, preflight('http://a.test')))['access-control-allow-private-network'],
    ).toBeUndefined();
  });

  it('answers a listed origin with the normalized origin and Vary: Origin', () => {
    const c = cors({ origins: ['http://a.test', 'https://b.test:8443'] });
    const h = apply(preflightHeaders(c, preflight('https://b.test:8443')));
    expect(h['access-control-allow-origin']).toBe('https://b.test:8443');
    expect(h.vary).toBe('Origin');
    expect(apply(preflightHeaders(c, preflight('http://a.test:80')))['access-control-allow-origin']).toBe(
      'http://a.test',
    );
  });

  it('leaves out Access-Control-Allow-Origin for an origin not listed', () => {
    const c = cors({ origins: ['http://a.test', 'http://b.test'] });
    expect(
      apply(preflightHeaders(c, preflight('http://evil.test')))['access-control-allow-origin'],
    ).toBeUndefined();
  });

  it('sends a single plain origin as configured, whatever the request origin', () => {
    const c = cors({ origins: ['http://a.test'] });
    expect(apply(preflightHeaders(c, preflight('http://evil.test')))['access-control-allow-origin']).toBe(
      'http://a.test',
    );
  });

  it('matches regex origins against the host, or the whole origin when the regex names a scheme', () => {
    const byHost = cors({ origins: ['.*\\.example\\.com'] });
    expect(
      apply(preflightHeaders(byHost, preflight('https://api.example.com')))['access-control-allow-origin'],
    ).toBe('https://api.example.com');
    expect(
      apply(preflightHeaders(byHost, preflight('https://api.example.com.evil.test')))[
        'access-control-allow-origin'
      ],
    ).toBeUndefined();
    const withScheme = cors({ origins: ['https://(a|b)\\.example\\.com', 'http://other.test'] });
    expect(
      apply(preflightHeaders(withScheme, preflight('https://b.example.com')))['access-control-allow-origin'],
    ).toBe('https://b.example.com');
    expect(
      apply(preflightHeaders(withScheme, preflight('http://b.example.com')))['access-control-allow-origin'],
    ).toBeUndefined();
  });

  it('anchors a regex with alternatives on both ends', () => {
    const c = cors({ origins: ['https://a\\.test|https://b\\.test', 'http://x.test'] });
    expect(
      apply(preflightHeaders(c, preflight('https://a.test.evil.example')))['access-control-allow-origin'],
    ).toBeUndefined();
    expect(apply(preflightHeaders(c, preflight('https://a.test')))['access-control-allow-origin']).toBe(
      'https://a.test',
    );
  });

  it('with credentials and every origin allowed, echoes the origin instead of *', () => {
    const h = apply(preflightHeaders(cors({ credentials: true }), preflight('http://a.test')));
    expect(h['access-control-allow-origin']).toBe('http://a.test');
    expect(h['access-control-allow-credentials']).toBe('true');
    expect(h.vary).toBe('Origin');
  });

  it('with credentials and listed origins, sets Access-Control-Allow-Credentials', () => {
    const h = apply(
      preflightHeaders(
        cors({ credentials: true, origins: ['http://a.test', 'http://b.test'] }),
        preflight('http://b.test'),
      ),
    );
    expect(h['access-control-allow-origin']).toBe('http://b.test');
    expect(h['access-control-allow-credentials']).toBe('true');
  });

  it('a * among several origins allows all', () => {
    const c = cors({ origins: ['http://a.test', '*'] });
    expect(apply(preflightHeaders(c, preflight('http://z.test')))['access-control-allow-origin']).toBe('*');
  });
});

describe('responseHeaders', () => {
  it('appends Origin to the upstream Vary and replaces its Access-Control-Allow-Origin', () => {
    const c = cors({ origins: ['http://a.test', 'http://b.test'], exposed_headers: ['X-Total', 'X-Page'] });
    const h = apply(responseHeaders(c, 'http://a.test'), {
      Vary: 'Accept-Encoding',
      'Access-Control-Allow-Origin': 'http://upstream.test',
    });
    expect(h.vary).toBe('Accept-Encoding, Origin');
    expect(h['access-control-allow-origin']).toBe('http://a.test');
    expect(h['access-control-expose-headers']).toBe('X-Total,X-Page');
  });

  it('removes an upstream Access-Control-Allow-Origin for an origin not listed', () => {
    const c = cors({ origins: ['http://a.test', 'http://b.test'] });
    const h = apply(responseHeaders(c, 'http://evil.test'), { 'Access-Control-Allow-Origin': '*' });
    expect(h['access-control-allow-origin']).toBeUndefined();
  });

  it('adds nothing without an Origin when allow_origin_absent is off', () => {
    expect(responseHeaders(cors({ allow_origin_absent: false }), undefined)).toEqual([]);
    expect(apply(responseHeaders(cors({}), undefined))['access-control-allow-origin']).toBe('*');
  });
});

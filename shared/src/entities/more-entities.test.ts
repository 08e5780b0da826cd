import { describe, expect, it } from 'vitest';
import { isGatehouseError } from '../errors.js';
import {
  certificateDigest,
  consumerGroupMembershipId,
  hashBasicAuthPassword,
  kongErrorBody,
  schemaViolation,
  validateAcl,
  validateBasicAuthCredential,
  validateCaCertificate,
  validateCertificate,
  validateConsumer,
  validateConsumerGroup,
  validateHmacAuthCredential,
  validateJwtSecret,
  validateKeyAuthCredential,
  validatePlugin,
  validateSni,
  validateTarget,
  validateUpstream,
  verifyBasicAuthPassword,
  validateOAuth2Credential,
  verifyOAuth2ClientSecret,
} from './index.js';
import type { OAuth2Credential } from '../config/model.js';
import { CA_CERT, EC_CERT, EC_KEY, LEAF_CERT, RSA_CERT, RSA_KEY, RSA_PUBLIC_KEY } from './test-fixtures.js';

const CONSUMER = { id: '5a0a7c1e-1111-4222-8333-444455556666' };

function violation(fn: () => unknown) {
  try {
    fn();
  } catch (e) {
    expect(isGatehouseError(e)).toBe(true);
    return kongErrorBody(e)!;
  }
  throw new Error('expected a schema violation');
}

describe('validateUpstream', () => {
  it('fills Kong defaults including the health checks', () => {
    const u = validateUpstream({ name: 'backend.internal' });
    expect(u).toMatchObject({ algorithm: 'round-robin', hash_on: 'none', slots: 10000, use_srv_name: false });
    expect(u.healthchecks.active).toMatchObject({
      type: 'http',
      timeout: 1,
      concurrency: 10,
      http_path: '/',
    });
    expect(u.healthchecks.active.unhealthy.http_statuses).toEqual([429, 404, 500, 501, 502, 503, 504, 505]);
    expect(u.healthchecks.passive.unhealthy.http_statuses).toEqual([429, 500, 503]);
    expect(u.healthchecks.threshold).toBe(0);
  });

  it('switches to consistent-hashing when hash_on is set, as Kong', () => {
    expect(validateUpstream({ name: 'a', hash_on: 'header', hash_on_header: 'x-user' }).algorithm).toBe(
      'consistent-hashing',
    );
  });

  it.each([
    [{ name: '10.0.0.1' }, 'name', "Invalid name ('10.0.0.1'); no ip addresses allowed"],
    [{ name: 'a.example:80' }, 'name', "Invalid name ('a.example:80'); no port allowed"],
    [{ name: 'a', hash_on: 'header' }, 'hash_on_header', 'required field missing'],
    [{ name: 'a', slots: 5 }, 'slots', 'value should be between 10 and 65536'],
    [
      { name: 'a', hash_on: 'cookie', hash_on_cookie: 'c', hash_fallback: 'ip' },
      'hash_fallback',
      'expected one of: none',
    ],
  ])('rejects %j', (input, field, message) => {
    expect(violation(() => validateUpstream(input)).fields?.[field]).toEqual(message);
  });

  it('names nested health-check errors by path', () => {
    const body = violation(() =>
      validateUpstream({
        name: 'a',
        healthchecks: { active: { concurrency: 0, healthy: { http_statuses: [99] } } },
      }),
    );
    expect(body.fields).toEqual({
      healthchecks: {
        active: {
          concurrency: 'value should be between 1 and 2147483648',
          healthy: { http_statuses: ['value should be between 100 and 999'] },
        },
      },
    });
  });
});

describe('validateTarget', () => {
  it.each([
    ['10.0.0.1', '10.0.0.1:8000'],
    ['api.internal:9000', 'api.internal:9000'],
    ['::1', '[::1]:8000'],
    ['[::1]:81', '[::1]:81'],
  ])('normalises %s to %s', (target, expected) => {
    expect(validateTarget({ upstream: { name: 'u' }, target }).target).toBe(expected);
  });

  it('defaults weight to 100 and bounds it to 0-65535', () => {
    expect(validateTarget({ upstream: { name: 'u' }, target: 'a' }).weight).toBe(100);
    expect(
      violation(() => validateTarget({ upstream: { name: 'u' }, target: 'a', weight: 70000 })).fields,
    ).toEqual({
      weight: 'value should be between 0 and 65535',
    });
    expect(violation(() => validateTarget({ upstream: { name: 'u' }, target: 'a b' })).fields).toEqual({
      // Kong's targets DAO (kong/db/dao/targets.lua) answers this before the schema runs.
      target: 'Invalid target; not a valid hostname or ip address',
    });
  });
});

describe('consumers and consumer groups', () => {
  it('needs a username or a custom_id', () => {
    expect(violation(() => validateConsumer({})).fields).toEqual({
      '@entity': ["at least one of these fields must be non-empty: 'custom_id', 'username'"],
    });
    expect(validateConsumer({ custom_id: 'c1' })).toEqual({ username: null, custom_id: 'c1', tags: null });
  });

  it('needs a group name', () => {
    expect(violation(() => validateConsumerGroup({})).fields).toEqual({ name: 'required field missing' });
  });

  it('derives a stable UUID for a membership', () => {
    const id = consumerGroupMembershipId(CONSUMER.id, '00000000-0000-4000-8000-000000000001');
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(consumerGroupMembershipId(CONSUMER.id.toUpperCase(), '00000000-0000-4000-8000-000000000001')).toBe(
      id,
    );
  });
});

describe('validatePlugin', () => {
  it('fills the envelope defaults', () => {
    expect(validatePlugin({ name: 'key-auth' })).toEqual({
      name: 'key-auth',
      instance_name: null,
      config: {},
      protocols: ['grpc', 'grpcs', 'http', 'https'],
      enabled: true,
      service: null,
      route: null,
      consumer: null,
      consumer_group: null,
      tags: null,
    });
  });

  it('reports the registry config errors under config, and scope errors from the registry', () => {
    const validateConfig = () => {
      throw schemaViolation({ consumer: 'value must be null', config: { key_names: 'expected an array' } });
    };
    expect(violation(() => validatePlugin({ name: 'x' }, { validateConfig })).fields).toEqual({
      consumer: 'value must be null',
      config: { key_names: 'expected an array' },
    });
  });

  it('does not validate the config while the envelope is invalid', () => {
    const validateConfig = () => {
      throw new Error('not called');
    };
    expect(
      violation(() => validatePlugin({ name: 'x', protocols: ['ftp'] }, { validateConfig })).fields,
    ).toEqual({
      protocols: ['expected one of: grpc, grpcs, http, https, tcp, tls, tls_passthrough, udp, ws, wss'],
    });
  });
});

describe('certificates', () => {
  it('accepts a matching cert and key, and an alternative of another key type', () => {
    expect(
      validateCertificate({ cert: RSA_CERT, key: RSA_KEY, cert_alt: EC_CERT, key_alt: EC_KEY }),
    ).toMatchObject({
      cert: RSA_CERT,
      cert_alt: EC_CERT,
    });
  });

  it.each([
    [{ cert: RSA_CERT, key: EC_KEY }, { '@entity': ['certificate does not match key'] }],
    [
      { cert: RSA_CERT, key: RSA_KEY, cert_alt: EC_CERT },
      { '@entity': ["all or none of these fields must be set: 'cert_alt', 'key_alt'"] },
    ],
    [{ cert: 'nope', key: RSA_KEY }, { cert: expect.stringMatching(/^invalid certificate: /) }],
    [{ cert: RSA_CERT, key: 'nope' }, { key: expect.stringMatching(/^invalid key: /) }],
  ])('rejects %#', (input, fields) => {
    expect(violation(() => validateCertificate(input)).fields).toEqual(fields);
  });

  it('validates SNI names as Kong (one wildcard at either end, no IP, no port)', () => {
    const cert = { id: CONSUMER.id };
    expect(validateSni({ name: '*.Example.com', certificate: cert }).name).toBe('*.example.com');
    expect(validateSni({ name: 'example.*', certificate: cert }).name).toBe('example.*');
    for (const [name, message] of [
      ['a.*.com', 'wildcard must be leftmost or rightmost character'],
      ['10.0.0.1', 'must not be an IP'],
      ['a.com:443', 'must not have a port'],
    ]) {
      expect(violation(() => validateSni({ name, certificate: cert })).fields).toEqual({ name: message });
    }
  });

  it('accepts only CA certificates and computes the digest', () => {
    expect(validateCaCertificate({ cert: CA_CERT }).cert_digest).toBe(certificateDigest(CA_CERT));
    expect(certificateDigest(CA_CERT)).toMatch(/^[0-9a-f]{64}$/);
    expect(violation(() => validateCaCertificate({ cert: LEAF_CERT })).fields).toEqual({
      '@entity': ['certificate does not appear to be a CA because it is missing the "CA" basic constraint'],
    });
    expect(violation(() => validateCaCertificate({ cert: CA_CERT + CA_CERT })).fields).toEqual({
      '@entity': ['please submit only one certificate at a time'],
    });
    expect(
      violation(() => validateCaCertificate({ cert: CA_CERT }, { now: new Date('2200-01-01') })).fields,
    ).toEqual({
      '@entity': ['certificate expired, "Not After" time is in the past'],
    });
  });
});

describe('credentials', () => {
  it('generates a key-auth key when omitted', () => {
    const a = validateKeyAuthCredential({ consumer: CONSUMER });
    expect(a.key).toMatch(/^[0-9a-f]{32}$/);
    expect(validateKeyAuthCredential({ consumer: CONSUMER, key: 'k', ttl: 60 })).toMatchObject({
      key: 'k',
      ttl: 60,
    });
  });

  it('stores basic-auth passwords as scrypt hashes that verify, and keeps an existing hash', () => {
    const c = validateBasicAuthCredential({ consumer: CONSUMER, username: 'u', password: 's3cret' });
    expect(c.password).toMatch(/^\$scrypt\$16384\$8\$1\$/);
    expect(verifyBasicAuthPassword('s3cret', c.password)).toBe(true);
    expect(verifyBasicAuthPassword('wrong', c.password)).toBe(false);
    const hash = hashBasicAuthPassword('x');
    expect(validateBasicAuthCredential({ consumer: CONSUMER, username: 'u', password: hash }).password).toBe(
      hash,
    );
  });

  it('generates jwt key and HS secret; asymmetric algorithms need a parseable public key', () => {
    const hs = validateJwtSecret({ consumer: CONSUMER });
    expect(hs).toMatchObject({ algorithm: 'HS256', key: expect.stringMatching(/^[0-9a-f]{32}$/) });
    expect(hs.secret).toMatch(/^[0-9a-f]{32}$/);
    expect(
      validateJwtSecret({ consumer: CONSUMER, algorithm: 'RS256', rsa_public_key: RSA_PUBLIC_KEY }).secret,
    ).toBeNull();
    // spec/03-plugins/16-jwt/02-api_spec.lua: the conditional check's message under `@entity`.
    const conditional = ["failed conditional validation given value of field 'algorithm'"];
    expect(violation(() => validateJwtSecret({ consumer: CONSUMER, algorithm: 'ES256' })).fields).toEqual({
      rsa_public_key: 'required field missing',
      '@entity': conditional,
    });
    expect(
      violation(() => validateJwtSecret({ consumer: CONSUMER, algorithm: 'RS256', rsa_public_key: 'x' }))
        .fields,
    ).toEqual({ rsa_public_key: 'invalid key', '@entity': conditional });
    // The key is checked only for the algorithms that use it (Kong's then_match).
    expect(
      validateJwtSecret({ consumer: CONSUMER, algorithm: 'HS256', rsa_public_key: 'x' }).rsa_public_key,
    ).toBe('x');
  });

  it('generates an hmac secret; acls need a group', () => {
    expect(validateHmacAuthCredential({ consumer: CONSUMER, username: 'h' }).secret).toMatch(
      /^[0-9a-f]{32}$/,
    );
    expect(violation(() => validateAcl({ consumer: CONSUMER })).fields).toEqual({
      group: 'required field missing',
    });
    expect(violation(() => validateHmacAuthCredential({ consumer: CONSUMER })).fields).toEqual({
      username: 'required field missing',
    });
  });
});

describe('oauth2 credentials (Kong spec/03-plugins/25-oauth2/01-api_spec.lua)', () => {
  it('generates client_id and client_secret when left out, and keeps Kong defaults', () => {
    const v = validateOAuth2Credential({
      name: 'app',
      consumer: { id: '00000000-0000-4000-8000-000000000001' },
    });
    expect(v.client_id).toMatch(/^[0-9a-f]{32}$/);
    expect(v.client_secret).toMatch(/^[0-9a-f]{32}$/);
    expect(v).toMatchObject({ hash_secret: false, client_type: 'confidential', redirect_uris: null });
  });

  it('stores a scrypt hash with hash_secret, keeps a stored hash on update, and verifies in constant time', async () => {
    const v = validateOAuth2Credential({
      name: 'app',
      client_secret: 'clear-secret',
      hash_secret: true,
      consumer: { id: '00000000-0000-4000-8000-000000000001' },
    });
    expect(v.client_secret).toMatch(/^\$scrypt\$/);
    const again = validateOAuth2Credential({ name: 'renamed' }, { base: v as never });
    expect(again.client_secret).toBe(v.client_secret);
    const stored = { ...v, id: 'x', created_at: 0, consumer: { id: 'c' }, tags: null } as OAuth2Credential;
    await expect(verifyOAuth2ClientSecret('clear-secret', stored)).resolves.toBe(true);
    await expect(verifyOAuth2ClientSecret('clear-secreT', stored)).resolves.toBe(false);
  });

  it('refuses a redirect_uri with a fragment or that is not a URL, and an unknown client_type', () => {
    const consumer = { id: '00000000-0000-4000-8000-000000000001' };
    expect(() =>
      validateOAuth2Credential({ name: 'a', consumer, redirect_uris: ['https://a.example/#x'] }),
    ).toThrow(/fragment not allowed/);
    expect(() => validateOAuth2Credential({ name: 'a', consumer, redirect_uris: ['not a url'] })).toThrow(
      /cannot parse/,
    );
    expect(() => validateOAuth2Credential({ name: 'a', consumer, client_type: 'secret' })).toThrow();
    expect(() => validateOAuth2Credential({ consumer })).toThrow(/name/);
  });
});

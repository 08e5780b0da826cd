import { describe, expect, it } from 'vitest';
import { loadPluginSchemas } from '@gatehouse/data-plane/schemas';
import { chainHash, GENESIS_HASH } from './chain.js';
import { MAX_PAYLOAD_CHARS, storedPayload } from './middleware.js';
import { USER_SECRET_FIELDS } from '../rbac/rbac-input.js';
import { AuditRedactor, REDACTED } from './redact.js';

const plugins = await loadPluginSchemas({ customDirs: [] });
const redactor = new AuditRedactor(plugins);

describe('audit redaction (secret fields from the registry and the schemas)', () => {
  it('redacts generated credential secrets, encrypted fields and hidden certificate keys', () => {
    expect(redactor.entity('keyauth_credentials', { id: '1', key: 'k' }).key).toBe(REDACTED);
    expect(redactor.entity('basicauth_credentials', { username: 'u', password: 'p' })).toEqual({
      username: 'u',
      password: REDACTED,
    });
    expect(redactor.entity('jwt_secrets', { key: 'iss', secret: 's', algorithm: 'HS256' })).toMatchObject({
      key: REDACTED,
      secret: REDACTED,
      algorithm: 'HS256',
    });
    expect(redactor.entity('hmacauth_credentials', { username: 'u', secret: 's' }).secret).toBe(REDACTED);
    expect(redactor.entity('certificates', { cert: 'C', key: 'K', key_alt: null })).toEqual({
      cert: 'C',
      key: REDACTED,
      key_alt: null,
    });
  });

  it('leaves entities without secrets as they are', () => {
    const service = { id: '1', name: 's', host: 'h', port: 80, tags: ['a'] };
    expect(redactor.entity('services', service)).toEqual(service);
  });

  it("redacts the fields a plugin's schema marks encrypted, at any depth of its config", () => {
    const plugin = {
      name: 'rate-limiting',
      config: { minute: 1, policy: 'redis', redis: { host: 'r', password: 'pw', username: null } },
    };
    const out = redactor.entity('plugins', plugin);
    expect(out.config).toEqual({
      minute: 1,
      policy: 'redis',
      redis: { host: 'r', password: REDACTED, username: null },
    });
    expect(plugin.config.redis.password).toBe('pw');
  });

  it('redacts secret-named keys anywhere in a request body and lists their paths', () => {
    const { payload, removed } = redactor.payload({
      username: 'u',
      password: 'p',
      keyauth_credentials: [{ key: 'k' }],
      config: { redis: { password: 'x' }, token: 't' },
    });
    expect(payload).toEqual({
      username: 'u',
      password: REDACTED,
      keyauth_credentials: [{ key: REDACTED }],
      config: { redis: { password: REDACTED }, token: REDACTED },
    });
    expect(removed).toEqual([
      'password',
      'keyauth_credentials[0].key',
      'config.redis.password',
      'config.token',
    ]);
  });

  it("redacts the RBAC users' secret fields (rbac-input.ts USER_SECRET_FIELDS) in a body", () => {
    for (const field of USER_SECRET_FIELDS) {
      const { payload, removed } = redactor.payload({ name: 'carol', [field]: 'carol-token-0123456789' });
      expect(payload).toEqual({ name: 'carol', [field]: REDACTED });
      expect(removed).toEqual([field]);
    }
    expect(USER_SECRET_FIELDS).toContain('user_token');
  });

  it('copies a __proto__ key of a body as data, never as a prototype', () => {
    const body = JSON.parse('{"__proto__": {"polluted": 1, "secret": "s"}}') as unknown;
    const { payload } = redactor.payload(body);
    expect(Object.getPrototypeOf(payload)).toBe(Object.prototype);
    expect(Object.hasOwn(payload as object, '__proto__')).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('stored request payloads', () => {
  it('parses a raw YAML document so its secrets are redacted', () => {
    const yaml =
      '_format_version: "3.0"\nconsumers:\n- username: a\n  keyauth_credentials:\n  - key: top-secret\n';
    const { payload, removed } = storedPayload(yaml, redactor);
    expect(payload).not.toContain('top-secret');
    expect(removed).toEqual(['consumers[0].keyauth_credentials[0].key']);
  });

  it('never stores a body it cannot parse as text, only its size and digest', () => {
    const body = 'key: [unclosed secret';
    const { payload } = storedPayload(body, redactor);
    expect(payload).not.toContain('secret');
    expect(JSON.parse(payload!)).toMatchObject({ unparsed: true, chars: body.length });
  });

  it('replaces a body larger than the limit by its size and digest', () => {
    const { payload } = storedPayload({ tags: ['x'.repeat(MAX_PAYLOAD_CHARS)] }, redactor);
    expect(JSON.parse(payload!)).toMatchObject({ truncated: true });
    expect(payload!.length).toBeLessThan(200);
  });

  it('stores no payload for an empty body', () => {
    expect(storedPayload(undefined, redactor).payload).toBeNull();
    expect(storedPayload({}, redactor).payload).toBeNull();
  });
});

describe('audit chain hash', () => {
  const row = {
    request_id: 'r',
    request_timestamp: new Date(0),
    client_ip: '127.0.0.1',
    method: 'POST',
    path: '/services',
    payload: null,
    removed_from_payload: null,
    status: 201,
    rbac_user_name: 'admin',
    actor_kind: 'admin-token',
    request_source: 'admin-api',
  };

  it('is the same for the same row and predecessor, and changes with any field or the predecessor', () => {
    const h = chainHash('audit_requests', GENESIS_HASH, row);
    expect(h).toMatch(/^[0-9a-f]{64}$/);
    expect(chainHash('audit_requests', GENESIS_HASH, { ...row })).toBe(h);
    for (const [k, v] of Object.entries({
      status: 200,
      path: '/routes',
      rbac_user_name: 'x',
      client_ip: null,
    }))
      expect(chainHash('audit_requests', GENESIS_HASH, { ...row, [k]: v }), k).not.toBe(h);
    expect(chainHash('audit_requests', h, row)).not.toBe(h);
  });
});

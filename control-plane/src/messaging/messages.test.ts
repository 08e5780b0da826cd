import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeConfigChanged,
  decodeOAuth2Revoked,
  decodeProxyCachePurge,
  decodeTargetHealth,
  encodeConfigChanged,
  encodeOAuth2Revoked,
  encodeProxyCachePurge,
  encodeTargetHealth,
  MAX_MESSAGE_BYTES,
  OAUTH2_REVOKED_PER_MESSAGE,
} from './messages.js';

const enc = (v: unknown) => new TextEncoder().encode(typeof v === 'string' ? v : JSON.stringify(v));
const hex64 = fc.stringMatching(/^[0-9a-f]{64}$/);
const cpId = fc.stringMatching(/^[a-z0-9][a-z0-9._-]{0,30}$/);

describe('replica messages', () => {
  it('round-trip config.changed and proxy-cache.purge', () => {
    fc.assert(
      fc.property(cpId, fc.bigInt({ min: 0n, max: 9_223_372_036_854_775_807n }), (id, version) => {
        expect(decodeConfigChanged(encodeConfigChanged({ cpId: id, version }))).toEqual({
          cpId: id,
          version,
        });
      }),
    );
    fc.assert(
      fc.property(cpId, fc.option(fc.uuid()), hex64, fc.boolean(), (id, pluginId, key, everyKey) => {
        const order = { cpId: id, pluginId: everyKey ? null : pluginId, key: everyKey ? null : key };
        expect(decodeProxyCachePurge(encodeProxyCachePurge(order))).toEqual(order);
      }),
    );
  });

  it('refuse any garbage payload without throwing', () => {
    const hostile = fc.oneof(
      fc.uint8Array({ maxLength: 600 }),
      fc.string({ maxLength: 300 }).map(enc),
      fc.jsonValue().map(enc),
      fc
        .record(
          {
            cp_id: fc.oneof(fc.string(), fc.constant(''), fc.integer(), fc.constant(null)),
            version: fc.oneof(
              fc.string(),
              fc.integer(),
              fc.constant('-1'),
              fc.constant('1e3'),
              fc.constant('01'),
            ),
            plugin_id: fc.oneof(
              fc.string(),
              fc.constant(null),
              fc.uuid().map((u) => u.toUpperCase()),
            ),
            cache_key: fc.oneof(fc.string(), fc.constant(null), fc.integer()),
            extra: fc.anything(),
          },
          { requiredKeys: [] },
        )
        .map(enc),
    );
    fc.assert(
      fc.property(hostile, (data) => {
        const changed = decodeConfigChanged(data);
        const purge = decodeProxyCachePurge(data);
        // Whatever comes back is a well-formed message.
        if (changed) expect(changed.version >= 0n && /^\S+$/.test(changed.cpId)).toBe(true);
        if (purge) expect(purge.key === null || /^[0-9a-f]{64}$/.test(purge.key)).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('refuse near-misses: extra fields, wrong types, out-of-range versions, oversized payloads, a plugin purge without a key', () => {
    expect(decodeConfigChanged(enc({ cp_id: 'a', version: '1', x: 1 }))).toBeNull();
    expect(decodeConfigChanged(enc({ cp_id: 'a', version: 1 }))).toBeNull();
    expect(decodeConfigChanged(enc({ cp_id: 'a', version: '9223372036854775808' }))).toBeNull();
    expect(decodeConfigChanged(enc({ cp_id: 'a b', version: '1' }))).toBeNull();
    expect(decodeConfigChanged(enc(['a', '1']))).toBeNull();
    expect(decodeConfigChanged(enc({ cp_id: 'a'.repeat(MAX_MESSAGE_BYTES), version: '1' }))).toBeNull();
    expect(decodeConfigChanged(new Uint8Array([0xff, 0xfe]))).toBeNull();
    expect(
      decodeProxyCachePurge(
        enc({ cp_id: 'a', plugin_id: '6f1e1d2c-3b4a-4c5d-8e6f-7a8b9c0d1e2f', cache_key: null }),
      ),
    ).toBeNull();
    expect(decodeProxyCachePurge(enc({ cp_id: 'a', plugin_id: null, cache_key: 'A'.repeat(64) }))).toBeNull();
    expect(decodeConfigChanged(enc({ cp_id: 'a', version: '42' }))).toEqual({ cpId: 'a', version: 42n });
  });
});

describe('gatehouse.targets.health', () => {
  const target = fc
    .tuple(fc.stringMatching(/^[a-z0-9.-]{1,40}$/), fc.integer({ min: 1, max: 65535 }))
    .map(([h, p]) => `${h}:${p}`);

  it('round-trips', () => {
    fc.assert(
      fc.property(cpId, fc.uuid(), target, fc.boolean(), (id, upstreamId, t, healthy) => {
        const m = { cpId: id, upstreamId: upstreamId.toLowerCase(), target: t, healthy };
        expect(decodeTargetHealth(encodeTargetHealth(m))).toEqual(m);
      }),
    );
  });

  it('refuses hostile payloads without throwing; whatever decodes is well formed', () => {
    const hostile = fc.oneof(
      fc.uint8Array({ maxLength: 600 }),
      fc.jsonValue().map(enc),
      fc
        .record(
          {
            cp_id: fc.oneof(fc.string(), fc.integer()),
            upstream_id: fc.oneof(fc.string(), fc.uuid(), fc.constant(null)),
            target: fc.oneof(fc.string(), target, fc.integer()),
            healthy: fc.oneof(fc.boolean(), fc.string(), fc.integer(), fc.constant(null)),
          },
          { requiredKeys: [] },
        )
        .map(enc),
    );
    fc.assert(
      fc.property(hostile, (data) => {
        const m = decodeTargetHealth(data);
        if (m) {
          expect(typeof m.healthy).toBe('boolean');
          expect(m.target).toMatch(/^\S+:[0-9]+$/);
        }
      }),
      { numRuns: 500 },
    );
    const ok = {
      cp_id: 'a',
      upstream_id: '6f1e1d2c-3b4a-4c5d-8e6f-7a8b9c0d1e2f',
      target: 'a:80',
      healthy: true,
    };
    expect(decodeTargetHealth(enc(ok))).not.toBeNull();
    expect(decodeTargetHealth(enc({ ...ok, healthy: 'true' }))).toBeNull();
    expect(decodeTargetHealth(enc({ ...ok, target: 'a b:80' }))).toBeNull();
    expect(decodeTargetHealth(enc({ ...ok, target: 'a' }))).toBeNull();
    expect(decodeTargetHealth(enc({ ...ok, extra: 1 }))).toBeNull();
  });
});

describe('gatehouse.oauth2.revoked', () => {
  const token = fc.record({
    jti: fc.stringMatching(/^[\x21-\x7e]{1,200}$/),
    credentialId: fc.uuid().map((u) => u.toLowerCase()),
    expiresAt: fc.integer({ min: 0, max: 9_999_999_999 }),
  });

  it('round-trips in messages of at most OAUTH2_REVOKED_PER_MESSAGE tokens, each within the size limit', () => {
    fc.assert(
      fc.property(cpId, fc.array(token, { minLength: 1, maxLength: 30 }), (id, tokens) => {
        const messages = encodeOAuth2Revoked({ cpId: id, tokens });
        expect(messages).toHaveLength(Math.ceil(tokens.length / OAUTH2_REVOKED_PER_MESSAGE));
        const decoded = messages.map((m) => {
          expect(m.length).toBeLessThanOrEqual(MAX_MESSAGE_BYTES);
          return decodeOAuth2Revoked(m);
        });
        expect(decoded.flatMap((d) => d!.tokens)).toEqual(tokens);
      }),
    );
  });

  it('refuses hostile payloads without throwing; whatever decodes is well formed', () => {
    const hostile = fc.oneof(
      fc.uint8Array({ maxLength: 600 }),
      fc.jsonValue().map(enc),
      fc
        .record(
          {
            cp_id: fc.oneof(fc.string(), fc.integer()),
            tokens: fc.oneof(
              fc.array(
                fc.record(
                  {
                    jti: fc.oneof(fc.string(), fc.integer(), fc.constant('')),
                    credential_id: fc.oneof(fc.string(), fc.uuid()),
                    expires_at: fc.oneof(fc.integer(), fc.double(), fc.string(), fc.constant(-1)),
                    extra: fc.anything(),
                  },
                  { requiredKeys: [] },
                ),
                { maxLength: 12 },
              ),
              fc.anything(),
            ),
          },
          { requiredKeys: [] },
        )
        .map(enc),
    );
    fc.assert(
      fc.property(hostile, (data) => {
        const m = decodeOAuth2Revoked(data);
        if (m) {
          expect(m.tokens.length).toBeGreaterThan(0);
          for (const t of m.tokens) {
            expect(t.jti).toMatch(/^[\x21-\x7e]{1,200}$/);
            expect(Number.isSafeInteger(t.expiresAt) && t.expiresAt >= 0).toBe(true);
          }
        }
      }),
      { numRuns: 500 },
    );
    const ok = { jti: 'a', credential_id: '6f1e1d2c-3b4a-4c5d-8e6f-7a8b9c0d1e2f', expires_at: 1 };
    expect(decodeOAuth2Revoked(enc({ cp_id: 'a', tokens: [ok] }))).not.toBeNull();
    expect(decodeOAuth2Revoked(enc({ cp_id: 'a', tokens: [] }))).toBeNull();
    expect(decodeOAuth2Revoked(enc({ cp_id: 'a', tokens: [{ ...ok, expires_at: 1.5 }] }))).toBeNull();
    expect(decodeOAuth2Revoked(enc({ cp_id: 'a', tokens: [{ ...ok, jti: 'a b' }] }))).toBeNull();
    expect(decodeOAuth2Revoked(enc({ cp_id: 'a', tokens: Array(9).fill(ok) }))).toBeNull();
  });
});

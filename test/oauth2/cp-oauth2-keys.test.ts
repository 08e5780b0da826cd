/**
 * The control plane's oauth2 token signing keys and `/oauth2_tokens`, on a real store (PGlite and
 * Postgres): the first key made as soon as an instance needs one, rotation on the schedule with
 * an activation delay, retirement after the longest token lifetime, one change however many
 * replicas race, keys only in what DPs get (never GET /config, the plugin, the history); the
 * provision_key generated at write time; `/oauth2_tokens` listing and revoking (pushed at once),
 * hostile input answered 4xx.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { oauth2Redemption } from '@gatehouse/proto';
import { oauth2TokenEndpoints } from '../../control-plane/src/admin/oauth2-token-endpoints.js';
import { createConfigRouter } from '../../control-plane/src/declarative/router.js';
import { grantRedeemer } from '../../control-plane/src/oauth2/grant-redemption.js';
import {
  nextKeyChangeAt,
  OAUTH2_KEY_RETIRE_MARGIN_SECONDS,
  planKeys,
  rotateOAuth2SigningKeys,
} from '../../control-plane/src/oauth2/signing-keys.js';
import { dataPlaneConfig } from '../../control-plane/src/snapshot/publisher.js';
import type { UsedToken } from '../../control-plane/src/store/oauth2-used-tokens.js';
import { startAdminServer, type AdminServer } from '../admin/contract-server.js';

const SETTINGS = { rotationSeconds: 3600, activationSeconds: 120 };

describe('oauth2 signing key schedule (planKeys)', () => {
  it('keeps the invariants over any keys and times (fast-check)', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.record({ kid: fc.string({ minLength: 1 }), notBefore: fc.nat(1e9) }), {
          selector: (k) => k.kid,
          maxLength: 8,
        }),
        fc.boolean(),
        fc.option(fc.nat(1e7), { nil: null }),
        fc.nat(2e9),
        (keys, needed, lifetime, now) => {
          const plan = planKeys(keys, needed, lifetime, now, SETTINGS);
          if (!needed) expect(plan).toEqual({ create: null, retire: [] });
          // The newest key is never retired, nor anything while a token can live forever.
          const newest = [...keys].sort((a, b) => b.notBefore - a.notBefore || (a.kid < b.kid ? 1 : -1))[0];
          if (newest) expect(plan.retire).not.toContain(newest.kid);
          if (lifetime === null) expect(plan.retire).toEqual([]);
          if (plan.create && keys.length > 0)
            expect(plan.create.notBefore).toBe(now + SETTINGS.activationSeconds);
          if (keys.length === 0 && needed) expect(plan.create).toEqual({ notBefore: now });
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('oauth2 signing key schedule (nextKeyChangeAt)', () => {
  it('names the time planKeys next acts: something is due then, and nothing is due before unless it is past (fast-check)', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.record({ kid: fc.string({ minLength: 1 }), notBefore: fc.nat(1e6) }), {
          selector: (k) => k.kid,
          minLength: 1,
          maxLength: 6,
        }),
        fc.option(fc.nat(1e5), { nil: null }),
        fc.integer({ min: 1, max: 1e5 }),
        fc.nat(1e3),
        fc.nat(2e6),
        (keys, lifetime, rotationSeconds, activationSeconds, now) => {
          const settings = { rotationSeconds, activationSeconds };
          const at = nextKeyChangeAt(keys, true, lifetime, settings);
          expect(at).not.toBeNull();
          const due = (t: number) => {
            const p = planKeys(keys, true, lifetime, t, settings);
            return p.create !== null || p.retire.length > 0;
          };
          expect(due(at!)).toBe(true);
          if (due(now)) expect(at!).toBeLessThanOrEqual(now);
        },
      ),
      { numRuns: 500 },
    );
    expect(nextKeyChangeAt([], true, null, SETTINGS)).toBeNull();
    expect(nextKeyChangeAt([{ kid: 'k', notBefore: 1 }], false, null, SETTINGS)).toBeNull();
  });
});

describe.each(['pglite', 'postgres'] as const)('oauth2 signing keys and /oauth2_tokens (%s)', (kind) => {
  let admin: AdminServer;
  const pushed: UsedToken[][] = [];
  let credentialId = '';
  const t0 = Math.floor(Date.now() / 1000);

  beforeAll(async () => {
    admin = await startAdminServer(kind, {
      routers: ({ store, logger, plugins }) => [
        createConfigRouter(store, logger, { ...(plugins ? { plugins } : {}) }),
        oauth2TokenEndpoints(store.prisma, {
          broadcastOAuth2Revocations: (tokens) => {
            pushed.push([...tokens]);
            return 1;
          },
        }),
      ],
    });
  });
  afterAll(async () => admin?.stop());
  const call = (method: string, path: string, body?: unknown) => admin.call(method, path, body);
  const rotate = (at: number) => rotateOAuth2SigningKeys(admin.store, SETTINGS, at * 1000);

  it('makes no key while no oauth2 instance needs one', async () => {
    expect(await rotate(t0)).toBeNull();
    expect((await admin.store.readConfig()).oauth2SigningKeys).toEqual([]);
  });

  it('generates and stores provision_key when a write leaves it out (PATCH keeps it)', async () => {
    await call('POST', '/services', { name: 's', host: 'up.example' });
    const created = await call('POST', '/services/s/plugins', {
      name: 'oauth2',
      config: { enable_client_credentials: true, enable_password_grant: true },
    });
    expect(created.status).toBe(201);
    const key = (created.body.config as Record<string, unknown>).provision_key as string;
    expect(key).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect((created.body.config as Record<string, unknown>).token_signing_secrets).toBeNull();
    const id = created.body.id as string;
    const patched = await call('PATCH', `/plugins/${id}`, { config: { token_expiration: 600 } });
    expect((patched.body.config as Record<string, unknown>).provision_key).toBe(key);
    expect(((await call('GET', `/plugins/${id}`)).body.config as Record<string, unknown>).provision_key).toBe(
      key,
    );
  });

  it('makes the first key at once (one config write, noted in the history), then nothing until rotation is due', async () => {
    const before = await admin.store.currentVersion();
    const change = await rotate(t0);
    expect(change?.created).toMatchObject({
      kid: expect.stringMatching(/^gh[A-Za-z0-9_-]{16}$/),
      notBefore: t0,
    });
    expect(await admin.store.currentVersion()).toBe(before + 1n);
    const history = await admin.store.prisma.configHistory.findUnique({ where: { version: before + 1n } });
    expect(history?.note).toBe(`oauth2 token signing keys: made ${change!.created!.kid}`);
    expect(await rotate(t0 + 10)).toBeNull();
    expect(await admin.store.currentVersion()).toBe(before + 1n);
  });

  it('sends keys only to DPs: never in GET /config, the plugin or the config', async () => {
    const read = await admin.store.readConfig();
    expect(read.oauth2SigningKeys).toHaveLength(1);
    const secret = read.oauth2SigningKeys[0]!.secret;
    expect(Buffer.from(secret, 'base64url')).toHaveLength(32);
    expect(JSON.stringify(read.config)).not.toContain(secret);
    expect(JSON.stringify((await call('GET', '/config')).body)).not.toContain(secret);
    expect(JSON.stringify((await call('GET', '/plugins')).body)).not.toContain(secret);
    const dp = dataPlaneConfig(read.config, read.oauth2SigningKeys);
    expect(dp._oauth2_signing_keys).toEqual({
      keys: [{ kid: read.oauth2SigningKeys[0]!.kid, secret, not_before: t0 }],
    });
  });

  it('rotates once however many replicas race, with the activation delay; retires after the token lifetime', async () => {
    const due = t0 + SETTINGS.rotationSeconds;
    const racing = await Promise.all([rotate(due), rotate(due), rotate(due)]);
    const made = racing.filter((c) => c !== null);
    expect(made).toHaveLength(1);
    expect(made[0]!.created!.notBefore).toBe(due + SETTINGS.activationSeconds);
    const keys = (await admin.store.readConfig()).oauth2SigningKeys;
    expect(keys).toHaveLength(2);
    // The longest lifetime: refresh tokens (password grant) 1209600 s.
    const retireAt = due + SETTINGS.activationSeconds + 1_209_600 + OAUTH2_KEY_RETIRE_MARGIN_SECONDS;
    expect((await rotate(retireAt - 1))?.retired ?? []).toEqual([]);
    const last = await rotate(retireAt);
    expect(last?.retired).toEqual([keys[0]!.kid]);
    expect((await admin.store.readConfig()).oauth2SigningKeys.map((k) => k.kid)).not.toContain(keys[0]!.kid);
  });

  it('never retires while an instance issues tokens that never expire (token_expiration 0)', async () => {
    const plugins = (await call('GET', '/plugins')).body.data as { id: string }[];
    await call('PATCH', `/plugins/${plugins[0]!.id}`, { config: { token_expiration: 0 } });
    const far = t0 + 100 * SETTINGS.rotationSeconds + 10 * 1_209_600;
    const c = await rotate(far);
    expect(c?.retired).toEqual([]);
    expect(c?.created).not.toBeNull();
  });

  it('while a staged rollout runs, a rotation waits for its end, but a first key is made at once', async () => {
    const prisma = admin.store.prisma;
    const rollout = await prisma.rollout.create({
      data: {
        id: '6c1a0f3e-9a4b-4c55-8d1e-2f3a4b5c6d7e',
        state: 'running',
        plan: {},
        wave: 0,
        wave_started_at: new Date(),
        waves: [],
        base_version: 1n,
        target_version: 2n,
        base_config: {},
      },
    });
    try {
      const before = (await admin.store.readConfig()).oauth2SigningKeys;
      const later = t0 + 200 * SETTINGS.rotationSeconds + 20 * 1_209_600;
      // Due, but held DPs keep the keys of the rollout's start: nothing changes, and no error.
      expect(await rotate(later)).toBeNull();
      expect((await admin.store.readConfig()).oauth2SigningKeys).toEqual(before);
      // No key at all (an instance the rollout's change brought): the first is made regardless.
      await prisma.oauth2SigningKey.deleteMany({});
      const first = await rotate(later);
      expect(first?.created?.notBefore).toBe(later);
      expect((await admin.store.readConfig()).oauth2SigningKeys).toHaveLength(1);
    } finally {
      await prisma.rollout.update({ where: { id: rollout.id }, data: { state: 'completed' } });
    }
  });

  it('lists what the CP knows at /oauth2_tokens and revokes by jti, pushed to DPs at once', async () => {
    await call('POST', '/consumers', { username: 'tok' });
    credentialId = (
      await call('POST', '/consumers/tok/oauth2', { name: 'A', redirect_uris: ['https://a.example/cb'] })
    ).body.id as string;
    const exp = BigInt(Math.floor(Date.now() / 1000) + 600);
    const redeem = grantRedeemer(admin.store);
    await redeem(
      oauth2Redemption({ jti: 'refresh-x', credentialId, expiresAt: exp }, [
        { jti: 'access-x', credentialId, expiresAt: exp },
      ]),
    );
    const list = await call('GET', '/oauth2_tokens?size=1');
    expect(list.status).toBe(200);
    expect(list.body.data).toEqual([
      {
        id: 'access-x',
        jti: 'access-x',
        credential: { id: credentialId },
        revoked: true,
        expires_at: Number(exp),
        created_at: expect.any(Number),
      },
    ]);
    const next = await call('GET', list.body.next as string);
    expect(next.body.data).toMatchObject([{ jti: 'refresh-x', revoked: false }]);
    expect(next.body.next).toBeNull();
    expect((await call('GET', `/oauth2_tokens?credential=${credentialId}`)).body.data).toHaveLength(2);
    expect((await call('GET', '/oauth2_tokens/refresh-x')).body).toMatchObject({ revoked: false });

    pushed.length = 0;
    expect((await call('DELETE', '/oauth2_tokens/refresh-x')).status).toBe(204);
    expect((await call('GET', '/oauth2_tokens/refresh-x')).body).toMatchObject({ revoked: true });
    expect(pushed.map((p) => p.map((t) => t.jti))).toEqual([['refresh-x']]);
    // Not configuration: no new version.
    const version = await admin.store.currentVersion();
    expect((await call('DELETE', '/oauth2_tokens/access-y', undefined)).status).toBe(404);
    expect(
      (await call('DELETE', `/oauth2_tokens/access-y?credential=${credentialId}&expires_at=${exp}`)).status,
    ).toBe(204);
    expect(pushed.at(-1)!.map((t) => t.jti)).toEqual(['access-y']);
    expect(await admin.store.currentVersion()).toBe(version);
    const bad = await call(
      'DELETE',
      '/oauth2_tokens/access-z?credential=00000000-0000-4000-8000-000000000000&expires_at=1',
    );
    expect(bad).toMatchObject({
      status: 400,
      body: { message: expect.stringMatching(/^credential: no such oauth2 credential/) },
    });
  });

  it('answers hostile /oauth2_tokens input with 2xx/4xx, never 5xx (fast-check)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('GET', 'DELETE', 'POST', 'PUT'),
        fc.string({ maxLength: 300 }),
        fc.dictionary(
          fc.constantFrom('credential', 'expires_at', 'size', 'offset'),
          fc.oneof(fc.string({ maxLength: 60 }), fc.constant(credentialId), fc.integer().map(String)),
        ),
        async (method, jti, q) => {
          const qs = new URLSearchParams(q).toString();
          const path = `/oauth2_tokens/${encodeURIComponent(jti)}${qs ? `?${qs}` : ''}`;
          const r = await call(method, jti === '' ? `/oauth2_tokens${qs ? `?${qs}` : ''}` : path);
          expect(r.status, `${method} ${path}`).toBeLessThan(500);
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe('oauth2 provision_key through POST /config (declarative)', () => {
  let admin: AdminServer;
  beforeAll(async () => {
    admin = await startAdminServer('pglite', {
      routers: ({ store, logger, plugins }) => [
        createConfigRouter(store, logger, { ...(plugins ? { plugins } : {}) }),
      ],
    });
  });
  afterAll(async () => admin?.stop());
  const oauth2Of = async (): Promise<Record<string, unknown>> => {
    const plugins = (await admin.call('GET', '/plugins')).body.data as { name: string; config: object }[];
    return plugins.find((p) => p.name === 'oauth2')!.config as Record<string, unknown>;
  };
  const file = (config: Record<string, unknown>) => ({
    _format_version: '3.0',
    services: [{ name: 's', host: 'up.example', plugins: [{ name: 'oauth2', config }] }],
  });

  it('generates provision_key when the file leaves it out, as a write through /plugins does', async () => {
    const loaded = await admin.call('POST', '/config', file({ enable_client_credentials: true }));
    expect(loaded.status, JSON.stringify(loaded.body)).toBe(201);
    const key = (await oauth2Of()).provision_key;
    expect(key).toMatch(/^[A-Za-z0-9_-]{32}$/);
    // The same file again keeps the stored key: no change, nothing to apply.
    const diff = await admin.call('POST', '/config/diff', file({ enable_client_credentials: true }));
    expect(diff.body.changes).toEqual([]);
    const again = await admin.call('POST', '/config?check_hash=1', file({ enable_client_credentials: true }));
    expect(again.status).toBe(304);
    expect((await oauth2Of()).provision_key).toBe(key);
    // A file that names one keeps it.
    const named = await admin.call(
      'POST',
      '/config',
      file({ enable_client_credentials: true, provision_key: 'pk-1' }),
    );
    expect(named.status).toBe(201);
    expect((await oauth2Of()).provision_key).toBe('pk-1');
  });
});

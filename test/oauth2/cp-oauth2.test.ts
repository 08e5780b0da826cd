/**
 * The control plane's side of the oauth2 plugin on a real store: Kong's Admin API paths
 * for oauth2_credentials (`/consumers/{c}/oauth2`, `/oauth2`), the grant ledger DPs redeem codes
 * and refresh tokens at (single use, racing redemptions: one wins; not a config write),
 * redemptions refused for a deleted credential or an admin-revoked grant, and the purge (one
 * replica at a time) that bounds the used tokens and the revocation list. On PGlite and Postgres.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { oauth2Redemption } from '@gatehouse/proto';
import {
  grantRedeemer,
  OAUTH2_PURGE_JOB,
  purgeExpiredOAuth2,
} from '../../control-plane/src/oauth2/grant-redemption.js';
import { runExclusive } from '../../control-plane/src/jobs/exclusive.js';
import { liveRevokedTokens } from '../../control-plane/src/store/oauth2-used-tokens.js';
import { startAdminServer, type AdminServer } from '../admin/contract-server.js';

describe.each(['pglite', 'postgres'] as const)('oauth2 on the control plane (%s)', (kind) => {
  let admin: AdminServer;
  let credentialId: string;

  beforeAll(async () => {
    admin = await startAdminServer(kind);
  });
  afterAll(async () => admin?.stop());

  const call = (method: string, path: string, body?: unknown) => admin.call(method, path, body);
  const store = () => admin.store;

  it("serves oauth2 credentials on Kong's paths, with generated client_id and client_secret", async () => {
    expect((await call('POST', '/consumers', { username: 'bob' })).status).toBe(201);
    const created = await call('POST', '/consumers/bob/oauth2', {
      name: 'App',
      redirect_uris: ['https://app.example/cb'],
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      name: 'App',
      client_id: expect.stringMatching(/^[0-9a-f]{32}$/),
      client_secret: expect.stringMatching(/^[0-9a-f]{32}$/),
      hash_secret: false,
      client_type: 'confidential',
      redirect_uris: ['https://app.example/cb'],
    });
    credentialId = created.body.id as string;
    const byClientId = await call('GET', `/oauth2/${created.body.client_id as string}`);
    expect(byClientId.body).toMatchObject({ id: credentialId });
    expect((await call('GET', '/consumers/bob/oauth2')).body.data).toHaveLength(1);
    const dup = await call('POST', '/consumers/bob/oauth2', {
      name: 'Dup',
      client_id: created.body.client_id,
    });
    expect(dup.status).toBe(409);
    const bad = await call('POST', '/consumers/bob/oauth2', {
      name: 'Bad',
      redirect_uris: ['https://a.example/#f'],
    });
    expect(bad.status).toBe(400);
  });

  it('redeems a grant once; racing redemptions of one jti: exactly one wins', async () => {
    const revokedSeen: string[][] = [];
    const redeem = grantRedeemer(store(), (tokens) => revokedSeen.push(tokens.map((t) => t.jti)));
    const exp = BigInt(Math.floor(Date.now() / 1000) + 300);
    const grant = { jti: 'code-1', credentialId, expiresAt: exp };
    const access = { jti: 'access-1', credentialId, expiresAt: exp };
    expect(await redeem(oauth2Redemption(grant, [access]))).toBe(false);
    expect(await redeem(oauth2Redemption(grant, []))).toBe(true);
    expect(revokedSeen).toEqual([['access-1']]);
    const racing = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        redeem(
          oauth2Redemption({ jti: 'code-2', credentialId, expiresAt: exp }, [
            { jti: `access-2-${i}`, credentialId, expiresAt: exp },
          ]),
        ),
      ),
    );
    expect(racing.filter((used) => !used)).toHaveLength(1);
    // Only the winner's access token was revoked (and told to DPs).
    expect(revokedSeen).toHaveLength(2);
    const live = await liveRevokedTokens(store().prisma, Math.floor(Date.now() / 1000), 100);
    expect(live.map((t) => t.jti).sort()).toEqual(['access-1', revokedSeen[1]![0]!].sort());
  });

  it('does not change the config version, history or revocation list when a grant is redeemed', async () => {
    const prisma = store().prisma;
    const before = { version: await store().currentVersion(), history: await prisma.configHistory.count() };
    const exp = BigInt(Math.floor(Date.now() / 1000) + 300);
    const redeem = grantRedeemer(store());
    for (let i = 0; i < 5; i++)
      expect(
        await redeem(
          oauth2Redemption({ jti: `refresh-${i}`, credentialId, expiresAt: exp }, [
            { jti: `old-access-${i}`, credentialId, expiresAt: exp },
          ]),
        ),
      ).toBe(false);
    expect(await store().currentVersion()).toBe(before.version);
    expect(await prisma.configHistory.count()).toBe(before.history);
    const { config } = await store().readConfig();
    expect(config.oauth2_token_revocations).toEqual([]);
  });

  it('refuses a grant whose credential is gone, one revoked through the Admin API, and malformed ids', async () => {
    const redeem = grantRedeemer(store());
    const gone = { jti: 'code-3', credentialId: '00000000-0000-4000-8000-00000000dead', expiresAt: 0n };
    expect(await redeem(oauth2Redemption(gone, []))).toBe(true);
    const revoked = await call('POST', '/oauth2_token_revocations', {
      credential: { id: credentialId },
      jti: 'refresh-revoked-by-admin',
      expires_at: 0,
    });
    expect(revoked.status).toBe(201);
    expect(
      await redeem(oauth2Redemption({ jti: 'refresh-revoked-by-admin', credentialId, expiresAt: 0n }, [])),
    ).toBe(true);
    expect((await call('DELETE', `/oauth2_token_revocations/${revoked.body.id as string}`)).status).toBe(204);
    for (const bad of [
      { jti: '', credentialId, expiresAt: 0n },
      { jti: 'x'.repeat(201), credentialId, expiresAt: 0n },
      { jti: 'code 4', credentialId, expiresAt: 0n },
      { jti: 'code-5', credentialId: 'not-a-uuid', expiresAt: 0n },
      { jti: 'code-6', credentialId, expiresAt: -1n },
      { jti: 'code-7', credentialId, expiresAt: 2n ** 62n },
    ])
      expect(await redeem(oauth2Redemption(bad, []))).toBe(true);
  });

  it('purges expired used tokens and revocations in one config write, keeping never-expiring ones', async () => {
    const prisma = store().prisma;
    const now = Math.floor(Date.now() / 1000);
    const redeem = grantRedeemer(store());
    const code = { jti: 'expired-code', credentialId, expiresAt: BigInt(now - 5) };
    expect(await redeem(oauth2Redemption(code, []))).toBe(false);
    const forever = { jti: 'forever-refresh', credentialId, expiresAt: 0n };
    expect(await redeem(oauth2Redemption(forever, []))).toBe(false);
    for (const [jti, expires_at] of [
      ['expired-token', now - 10],
      ['expired-token-2', now - 1],
      ['never-expires', 0],
    ] as const) {
      const r = await call('POST', '/oauth2_token_revocations', {
        credential: { id: credentialId },
        jti,
        expires_at,
      });
      expect(r.status).toBe(201);
    }
    const version = await store().currentVersion();
    expect(await purgeExpiredOAuth2(store())).toEqual({ used: 1, revocations: 2 });
    expect(await store().currentVersion()).toBe(version + 1n);
    const { config } = await store().readConfig();
    expect(config.oauth2_token_revocations.map((x) => x.jti)).toEqual(['never-expires']);
    const used = (await prisma.oauth2UsedToken.findMany({ select: { jti: true } })).map((u) => u.jti);
    expect(used).toContain('forever-refresh');
    expect(used).not.toContain('expired-code');
    // Nothing left to purge: no config write.
    expect(await purgeExpiredOAuth2(store())).toEqual({ used: 0, revocations: 0 });
    expect(await store().currentVersion()).toBe(version + 1n);
  });

  it.runIf(kind === 'postgres')('skips the purge while another replica holds its lock', async () => {
    const prisma = store().prisma;
    let release = () => {};
    const held = new Promise<void>((r) => (release = r));
    let locked = () => {};
    const hasLock = new Promise<void>((r) => (locked = r));
    const holder = runExclusive(prisma, OAUTH2_PURGE_JOB, async () => {
      locked();
      await held;
    });
    await hasLock;
    try {
      expect(await purgeExpiredOAuth2(store())).toBeNull();
    } finally {
      release();
      await holder;
    }
    expect(await purgeExpiredOAuth2(store())).not.toBeNull();
  });

  it('refuses an expires_at past the 32-bit column with a 400 naming it, not a database error', async () => {
    const r = await call('POST', '/oauth2_token_revocations', {
      credential: { id: credentialId },
      jti: 'far-future',
      expires_at: 4_102_444_800,
    });
    expect(r.status).toBe(400);
    expect(JSON.stringify(r.body)).toContain('expires_at');
  });

  it("drops a credential's revocations and used tokens with the credential (its tokens are refused anyway)", async () => {
    expect((await call('DELETE', `/oauth2/${credentialId}`)).status).toBe(204);
    const { config } = await store().readConfig();
    expect(config.oauth2_token_revocations).toEqual([]);
    expect(await store().prisma.oauth2UsedToken.count()).toBe(0);
  });
});

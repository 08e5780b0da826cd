/**
 * The control plane's side of the oauth2 plugin on a real (PGlite) store: Kong's Admin API paths
 * for oauth2_credentials (`/consumers/{c}/oauth2`, `/oauth2`), the grant ledger DPs redeem codes
 * and refresh tokens at (single use, concurrent redemptions: one wins), revocations refused for a
 * deleted credential, and the purge that bounds the revocation list.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { oauth2Redemption } from '@gatehouse/proto';
import { grantRedeemer, purgeExpiredRevocations } from '../../control-plane/src/oauth2/grant-redemption.js';
import { startAdminServer, type AdminServer } from '../admin/contract-server.js';

describe('oauth2 on the control plane', () => {
  let admin: AdminServer;
  let credentialId: string;

  beforeAll(async () => {
    admin = await startAdminServer('pglite');
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

  it('redeems a grant once; concurrent redemptions of one jti: exactly one wins', async () => {
    const redeem = grantRedeemer(store());
    const exp = BigInt(Math.floor(Date.now() / 1000) + 300);
    const grant = { jti: 'code-1', credentialId, expiresAt: exp };
    const access = { jti: 'access-1', credentialId, expiresAt: exp };
    expect(await redeem(oauth2Redemption(grant, [access]))).toBe(false);
    expect(await redeem(oauth2Redemption(grant, []))).toBe(true);
    const { config } = await store().readConfig();
    expect(config.oauth2_token_revocations.map((r) => r.jti).sort()).toEqual(['access-1', 'code-1']);
    const racing = await Promise.all(
      [1, 2, 3].map(() => redeem(oauth2Redemption({ jti: 'code-2', credentialId, expiresAt: exp }, []))),
    );
    expect(racing.filter((used) => !used)).toHaveLength(1);
  });

  it('refuses a grant whose credential is gone', async () => {
    const redeem = grantRedeemer(store());
    const gone = { jti: 'code-3', credentialId: '00000000-0000-4000-8000-00000000dead', expiresAt: 0n };
    expect(await redeem(oauth2Redemption(gone, []))).toBe(true);
  });

  it('revokes through the Admin API and purges revocations once their tokens expired', async () => {
    const past = Math.floor(Date.now() / 1000) - 10;
    const r = await call('POST', '/oauth2_token_revocations', {
      credential: { id: credentialId },
      jti: 'expired-token',
      expires_at: past,
    });
    expect(r.status).toBe(201);
    const forever = await call('POST', '/oauth2_token_revocations', {
      credential: { id: credentialId },
      jti: 'never-expires',
      expires_at: 0,
    });
    expect(forever.status).toBe(201);
    expect(await purgeExpiredRevocations(store())).toBe(1);
    const { config } = await store().readConfig();
    const jtis = config.oauth2_token_revocations.map((x) => x.jti);
    expect(jtis).not.toContain('expired-token');
    expect(jtis).toContain('never-expires');
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

  it("drops a credential's revocations with the credential (its tokens are refused anyway)", async () => {
    expect((await call('DELETE', `/oauth2/${credentialId}`)).status).toBe(204);
    const { config } = await store().readConfig();
    expect(config.oauth2_token_revocations).toEqual([]);
  });
});

/**
 * RedeemOAuth2Grant on a real cluster server: the unary call beside the stream that makes oauth2
 * codes and refresh tokens single use across DPs. It takes the same mutual TLS as Connect (a
 * client without the cluster CA's certificate gets nothing), redeems a jti once, and answers
 * UNAVAILABLE on a CP that cannot redeem (the DP then refuses the grant with a 503).
 */
import * as grpc from '@grpc/grpc-js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  ClusterServiceClient,
  oauth2Redemption,
  type OAuth2GrantRedeemed,
  type OAuth2GrantRedemption,
} from '@gatehouse/proto';
import { clusterChannel } from '../../data-plane/src/sync/cluster-tls.js';
import { grantRedeemer } from '../../control-plane/src/oauth2/grant-redemption.js';
import {
  openPgliteDatabase,
  startTestCluster,
  TEST_CERTS,
  type TestCluster,
  type TestDatabase,
} from './harness.js';

let tdb: TestDatabase;
const clusters: TestCluster[] = [];
const clients: grpc.Client[] = [];

beforeAll(async () => {
  tdb = await openPgliteDatabase();
});
afterAll(async () => tdb?.close());
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const c of clusters.splice(0)) await c.stop();
});

function call(address: string, credentials: grpc.ChannelCredentials, request: OAuth2GrantRedemption) {
  const client = new ClusterServiceClient(address, credentials);
  clients.push(client);
  return new Promise<OAuth2GrantRedeemed>((resolve, reject) =>
    client.redeemOAuth2Grant(request, new grpc.Metadata(), { deadline: Date.now() + 5000 }, (err, res) =>
      err ? reject(err) : resolve(res!),
    ),
  );
}

const pkiDp = () => clusterChannel({ mode: 'pki', material: TEST_CERTS.dp }).credentials;

describe('RedeemOAuth2Grant', () => {
  it('redeems a jti once for a DP with a cluster certificate, and refuses a client without one', async () => {
    // The CP's redeemer over the cluster's own store (read when a call comes in).
    const c: TestCluster = await startTestCluster(tdb.db, {
      redeemOAuth2Grant: (r) => grantRedeemer(c.store)(r),
    });
    clusters.push(c);
    const consumer = await c.store.entities.consumers.create({ username: `u-${Date.now()}` });
    const app = await c.store.entities.oauth2_credentials.create({
      name: 'app',
      consumer: { id: consumer.id },
    });
    const grant = oauth2Redemption({ jti: `code-${Date.now()}`, credentialId: app.id, expiresAt: 0n }, []);

    expect((await call(c.server.address, pkiDp(), grant)).alreadyUsed).toBe(false);
    expect((await call(c.server.address, pkiDp(), grant)).alreadyUsed).toBe(true);

    const stranger = grpc.credentials.createSsl(TEST_CERTS.cp.trust);
    await expect(call(c.server.address, stranger, grant)).rejects.toMatchObject({
      code: expect.toBeOneOf([grpc.status.UNAVAILABLE, grpc.status.UNAUTHENTICATED]),
    });
  });

  it('answers UNAVAILABLE where the CP cannot redeem', async () => {
    const c = await startTestCluster(tdb.db);
    clusters.push(c);
    const grant = oauth2Redemption({ jti: 'x', credentialId: 'y', expiresAt: 0n }, []);
    await expect(call(c.server.address, pkiDp(), grant)).rejects.toMatchObject({
      code: grpc.status.UNAVAILABLE,
    });
  });
});

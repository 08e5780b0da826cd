import { importJWK } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  createLogger,
  emptyConfig,
  encodeConfig,
  generateSigningKeyPair,
  regionTag,
  signEncodedSnapshot,
  SNAPSHOT_ALG,
  verifySnapshot,
  type DigestedConfig,
  type SigningKey,
  type TrustedKeys,
} from '@gatehouse/shared';
import type { PublishedSnapshot } from './publisher.js';
import { SliceCache } from './slices.js';

const logger = createLogger('slices-test', { level: 'silent' });
let key: SigningKey;
let trusted: TrustedKeys;
beforeAll(async () => {
  const pair = await generateSigningKeyPair();
  key = { kid: pair.kid, key: await importJWK(pair.privateJwk, SNAPSHOT_ALG) };
  trusted = new Map([[pair.kid, await importJWK(pair.publicJwk, SNAPSHOT_ALG)]]);
});

/** A config of routes (id -> tags), and its whole-config snapshot at `version`. */
async function full(version: bigint, routes: Record<string, string[] | null>) {
  const config = emptyConfig() as DigestedConfig;
  (config as unknown as { routes: unknown[] }).routes = Object.entries(routes).map(([id, tags]) => ({
    id,
    paths: [`/${id}`],
    tags,
  }));
  const { bytes, hash } = encodeConfig(config);
  const snapshot = await signEncodedSnapshot({ bytes, hash, version, cpId: 'cp', key });
  const p: PublishedSnapshot = { snapshot, builtAt: new Date(), buildMs: 0, plugins: [], kid: key.kid };
  return { p, config };
}

function cache() {
  const events: [string, PublishedSnapshot][] = [];
  const c = new SliceCache({ key, cpId: 'cp', logger, onSlice: (k, p) => events.push([k, p]) });
  return { c, events };
}

const routeIds = async (p: PublishedSnapshot) =>
  (await verifySnapshot(p.snapshot, trusted)).config.routes.map((r) => r.id).sort();

describe('per-slice snapshots', () => {
  it('hands every DP the whole-config snapshot as is when nothing is scoped', async () => {
    const { c, events } = cache();
    const v1 = await full(1n, { a: null, b: ['team'] });
    c.rebase(v1.p, v1.config);
    const eu = c.acquire({ region: 'eu', labels: {} });
    const us = c.acquire({ region: 'us', labels: { tier: 'gold' } });
    await c.settled();
    expect(c.latest(eu)).toBe(v1.p);
    expect(c.latest(us)).toBe(v1.p);
    expect(events.map(([k]) => k)).toEqual(['region=eu', 'region=us/label=tier=gold']);
    expect(c.stats.built).toBe(0);
  });

  it('builds each slice once, signed; an eu-only change leaves the us snapshot as it was', async () => {
    const { c, events } = cache();
    const eu = c.acquire({ region: 'eu', labels: {} });
    const eu2 = c.acquire({ region: 'eu', labels: { host: 'x' } });
    const us = c.acquire({ region: 'us', labels: {} });
    const v1 = await full(1n, { all: null, euonly: [regionTag('eu')] });
    c.rebase(v1.p, v1.config);
    await c.settled();
    expect(await routeIds(c.latest(eu)!)).toEqual(['all', 'euonly']);
    expect(await routeIds(c.latest(us)!)).toEqual(['all']);
    // Two eu placements the tags cannot tell apart share one signed build.
    expect(c.latest(eu2)).toBe(c.latest(eu));
    // The eu slice is the whole config: the whole-config snapshot is handed out, only us is signed.
    expect(c.latest(eu)).toBe(v1.p);
    expect(c.stats.built).toBe(1);
    const usV1 = c.latest(us)!;
    events.length = 0;

    const v2 = await full(2n, { all: null, euonly: [regionTag('eu')], eunew: [regionTag('eu')] });
    c.rebase(v2.p, v2.config);
    await c.settled();
    expect(c.latest(us)).toBe(usV1);
    expect(events.map(([k]) => k).sort()).toEqual(['region=eu', 'region=eu/label=host=x']);
    expect(c.latest(eu)!.snapshot.version).toBe(2n);

    const v3 = await full(3n, { all: null, other: null, euonly: [regionTag('eu')] });
    c.rebase(v3.p, v3.config);
    await c.settled();
    expect(c.latest(us)!.snapshot.version).toBe(3n);
    expect(await routeIds(c.latest(us)!)).toEqual(['all', 'other']);
  });

  it('never hands a placement an older version than it was handed, when its slice changes', async () => {
    const { c } = cache();
    const us = c.acquire({ region: 'us', labels: {} });
    const ap = c.acquire({ region: 'ap', labels: {} });
    const v1 = await full(1n, { all: null, euonly: [regionTag('eu')], usonly: [regionTag('us')] });
    c.rebase(v1.p, v1.config);
    await c.settled();
    const v2 = await full(2n, {
      all: null,
      euonly: [regionTag('eu')],
      usonly: [regionTag('us')],
      u2: [regionTag('us')],
    });
    c.rebase(v2.p, v2.config);
    await c.settled();
    expect(c.latest(ap)!.snapshot.version).toBe(1n);
    // The us-only routes go: the us slice now equals ap's (held at v1), yet us is handed v3.
    const v3 = await full(3n, { all: null, euonly: [regionTag('eu')] });
    c.rebase(v3.p, v3.config);
    await c.settled();
    expect(c.latest(us)!.snapshot.hash).toBe(c.latest(ap)!.snapshot.hash);
    expect(c.latest(us)!.snapshot.version).toBe(3n);
    expect(c.latest(ap)!.snapshot.version).toBe(1n);
  });

  it('gives the same bytes, hash and version for a placement on every replica', async () => {
    const v1 = await full(7n, { all: null, euonly: [regionTag('eu')], usonly: [regionTag('us')] });
    const [a, b] = [cache(), cache()];
    for (const { c } of [a, b]) c.rebase(v1.p, v1.config);
    const ka = a.c.acquire({ region: 'us', labels: { z: '1' } });
    const kb = b.c.acquire({ region: 'us', labels: { z: '1' } });
    await Promise.all([a.c.settled(), b.c.settled()]);
    const [pa, pb] = [a.c.latest(ka)!.snapshot, b.c.latest(kb)!.snapshot];
    expect(pa.hash).toBe(pb.hash);
    expect(pa.version).toBe(7n);
    expect(pb.version).toBe(7n);
    expect(Buffer.from(pa.config).equals(Buffer.from(pb.config))).toBe(true);
  });

  it('forgets a placement once no DP has it, and builds a new one on demand', async () => {
    const { c } = cache();
    const v1 = await full(1n, { euonly: [regionTag('eu')] });
    c.rebase(v1.p, v1.config);
    const eu = c.acquire({ region: 'eu', labels: {} });
    c.acquire({ region: 'eu', labels: {} });
    await c.settled();
    expect(c.stats.placements).toBe(1);
    c.release(eu);
    expect(c.latest(eu)).not.toBeNull();
    c.release(eu);
    expect(c.latest(eu)).toBeNull();
    expect(c.stats.placements).toBe(0);
  });
});

describe('renewing a slice for a DP that holds a newer version', () => {
  it('signs the same slice at the newest config version, once', async () => {
    const { c, events } = cache();
    const us = c.acquire({ region: 'us', labels: {} });
    const v1 = await full(1n, { all: null, euonly: [regionTag('eu')] });
    c.rebase(v1.p, v1.config);
    await c.settled();
    const v2 = await full(2n, { all: null, euonly: [regionTag('eu')], eu2: [regionTag('eu')] });
    c.rebase(v2.p, v2.config);
    await c.settled();
    const held = c.latest(us)!;
    expect(held.snapshot.version).toBe(1n);
    events.length = 0;
    c.renew(us);
    await c.settled();
    expect(c.latest(us)!.snapshot.version).toBe(2n);
    expect(c.latest(us)!.snapshot.hash).toBe(held.snapshot.hash);
    expect(events.map(([k]) => k)).toEqual([us]);
    c.renew(us);
    await c.settled();
    expect(events).toHaveLength(1);
  });
});

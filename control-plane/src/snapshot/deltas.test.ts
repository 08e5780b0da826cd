import { importJWK } from 'jose';
import { describe, expect, it } from 'vitest';
import {
  createLogger,
  emptyConfig,
  generateSigningKeyPair,
  SERVICE_DEFAULTS,
  signSnapshot,
  SNAPSHOT_ALG,
  type GatehouseConfig,
  type SigningKey,
} from '@gatehouse/shared';
import { SnapshotDeltas } from './deltas.js';
import type { PublishedSnapshot } from './publisher.js';

async function signingKey(): Promise<SigningKey> {
  const pair = await generateSigningKeyPair();
  return { kid: pair.kid, key: await importJWK(pair.privateJwk, SNAPSHOT_ALG) };
}

function withServices(count: number): GatehouseConfig {
  const config = emptyConfig();
  for (let i = 0; i < count; i++) {
    config.services.push({
      ...SERVICE_DEFAULTS,
      id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
      name: `svc-${i}`,
      host: `svc-${i}.internal`,
      created_at: 1,
      updated_at: 1,
    });
  }
  return config;
}

async function published(
  config: GatehouseConfig,
  version: bigint,
  key: SigningKey,
): Promise<PublishedSnapshot> {
  const snapshot = await signSnapshot({ config, version, cpId: 'cp-test', key, issuedAt: 1_700_000_000 });
  return { snapshot, builtAt: new Date(0), buildMs: 0, plugins: [], kid: key.kid, signer: key.kid };
}

describe('SnapshotDeltas', () => {
  it('sends a small change as a delta, and a change that rewrites most of the config in full (most_of_config)', async () => {
    const key = await signingKey();
    const deltas = new SnapshotDeltas({
      key,
      cpId: 'cp-test',
      logger: createLogger('test', { level: 'silent' }),
    });
    const some = await published(withServices(100), 1n, key);
    const many = await published(withServices(400), 2n, key);
    const manyPlusOne = await published(withServices(401), 3n, key);
    deltas.remember(some);
    deltas.remember(many);
    // 100 → 400 services: the ops are three quarters of the target, and compressed they are
    // smaller than the full snapshot (which carries the 100 kept ones too).
    const big = await deltas.deltaFor(some.snapshot.hash, many);
    expect(big).toEqual({ full: 'most_of_config' });
    // 400 → 401: a delta.
    const small = await deltas.deltaFor(many.snapshot.hash, manyPlusOne);
    expect('delta' in small).toBe(true);
  });
});

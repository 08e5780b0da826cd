import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { inflateRawSync } from 'node:zlib';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  createLogger,
  emptyConfig,
  loadSigningKey,
  loadTrustedKeys,
  signSnapshot,
  writeSigningKeyPair,
  type GatehouseConfig,
  type SigningKey,
  type TrustedKeys,
} from '@gatehouse/shared';
import { SnapshotCache, SNAPSHOT_CACHE_FILE } from './snapshot-cache.js';

const logger = createLogger('test', { level: 'silent' });

function configWithService(name: string): GatehouseConfig {
  const c = emptyConfig();
  c.services.push({
    id: '00000000-0000-4000-8000-000000000001',
    name,
    protocol: 'http',
    host: 'upstream.test',
    port: 80,
    path: null,
    retries: 5,
    connect_timeout: 60000,
    write_timeout: 60000,
    read_timeout: 60000,
    enabled: true,
    tags: null,
    client_certificate: null,
    tls_verify: null,
    tls_verify_depth: null,
    ca_certificates: null,
    created_at: 1,
    updated_at: 1,
  });
  return c;
}

describe('SnapshotCache', () => {
  let dir: string;
  let key: SigningKey;
  let trusted: TrustedKeys;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gatehouse-cache-'));
    const files = await writeSigningKeyPair(join(dir, 'keys'));
    key = await loadSigningKey(files.privateKeyFile);
    trusted = await loadTrustedKeys([files.publicKeysFile]);
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('round-trips a signed snapshot that verifies again after reading', async () => {
    const cache = new SnapshotCache(join(dir, 'data'), logger);
    const signed = await signSnapshot({ config: configWithService('a'), version: 7n, cpId: 'cp1', key });
    await cache.write(signed);
    const loaded = await cache.loadVerified(trusted);
    expect(loaded?.verified.version).toBe(7n);
    expect(loaded?.verified.hash).toBe(signed.hash);
    expect(loaded?.verified.config.services[0]?.name).toBe('a');
  });

  it('replaces the file atomically and leaves no temp files behind', async () => {
    const data = join(dir, 'data');
    const cache = new SnapshotCache(data, logger);
    await cache.write(await signSnapshot({ config: configWithService('a'), version: 1n, cpId: 'cp1', key }));
    await cache.write(await signSnapshot({ config: configWithService('b'), version: 2n, cpId: 'cp1', key }));
    expect(await readdir(data)).toEqual([SNAPSHOT_CACHE_FILE]);
    const loaded = await cache.loadVerified(trusted);
    expect(loaded?.verified.version).toBe(2n);
    expect(loaded?.verified.config.services[0]?.name).toBe('b');
  });

  it('returns null when there is no cache yet', async () => {
    const cache = new SnapshotCache(join(dir, 'empty'), logger);
    expect(await cache.read()).toBeNull();
    expect(await cache.loadVerified(trusted)).toBeNull();
  });

  it('ignores a corrupt (garbage or truncated) file instead of throwing', async () => {
    const data = join(dir, 'data');
    const cache = new SnapshotCache(data, logger);
    await cache.write(await signSnapshot({ config: configWithService('a'), version: 3n, cpId: 'cp1', key }));
    const good = await readFile(cache.file);
    await writeFile(cache.file, good.subarray(0, Math.floor(good.length / 2)));
    expect(await cache.loadVerified(trusted)).toBeNull();
    await writeFile(cache.file, Buffer.from('this is not a protobuf \xff\xfe\x00\x01', 'latin1'));
    expect(await cache.loadVerified(trusted)).toBeNull();
    await writeFile(cache.file, '');
    expect(await cache.loadVerified(trusted)).toBeNull();
  });

  it('refuses a tampered cache: config bytes changed after signing', async () => {
    const cache = new SnapshotCache(join(dir, 'data'), logger);
    const signed = await signSnapshot({ config: configWithService('a'), version: 4n, cpId: 'cp1', key });
    const evil = await signSnapshot({ config: configWithService('evil'), version: 4n, cpId: 'cp1', key });
    // Keep the good signature, swap in other bytes.
    await cache.write({ ...signed, config: evil.config, uncompressedSize: evil.uncompressedSize });
    expect(await cache.read()).not.toBeNull();
    expect(await cache.loadVerified(trusted)).toBeNull();
  });

  it('refuses a cache signed by a key this data plane does not trust', async () => {
    const other = await writeSigningKeyPair(join(dir, 'other-keys'));
    const otherKey = await loadSigningKey(other.privateKeyFile);
    const cache = new SnapshotCache(join(dir, 'data'), logger);
    await cache.write(
      await signSnapshot({ config: configWithService('a'), version: 5n, cpId: 'cp1', key: otherKey }),
    );
    expect(await cache.loadVerified(trusted)).toBeNull();
  });

  it('refuses a cache whose signature bytes were flipped', async () => {
    const cache = new SnapshotCache(join(dir, 'data'), logger);
    const signed = await signSnapshot({ config: configWithService('a'), version: 6n, cpId: 'cp1', key });
    const parts = signed.jws.split('.');
    const sig = parts[2]!;
    parts[2] = (sig[0] === 'A' ? 'B' : 'A') + sig.slice(1);
    await cache.write({ ...signed, jws: parts.join('.') });
    expect(await cache.loadVerified(trusted)).toBeNull();
  });

  describe('encrypted at rest (GATEHOUSE_CACHE_KEY)', () => {
    const secretConfig = () => {
      const c = configWithService('svc');
      c.hmacauth_credentials.push({
        id: '00000000-0000-4000-8000-000000000002',
        consumer: { id: '00000000-0000-4000-8000-000000000003' },
        username: 'alice',
        secret: 'alice-hmac-secret',
        tags: null,
        created_at: 1,
      });
      return c;
    };

    it('writes a file that holds no secret and reads back only with the key', async () => {
      const cacheKey = randomBytes(32);
      const data = join(dir, 'data');
      const snap = await signSnapshot({ config: secretConfig(), version: 3n, cpId: 'cp', key });
      await new SnapshotCache(data, logger, { key: cacheKey }).write(snap);
      const raw = await readFile(join(data, SNAPSHOT_CACHE_FILE));
      expect(raw.subarray(0, 8).toString()).toBe('GHCACHE1');
      for (const bytes of [raw, tryGunzipAnywhere(raw)]) {
        expect(bytes.includes(Buffer.from('alice-hmac-secret'))).toBe(false);
      }
      const withKey = await new SnapshotCache(data, logger, { key: cacheKey }).load();
      expect(withKey).toMatchObject({ status: 'ok', encrypted: true });
      expect(
        (await new SnapshotCache(data, logger, { key: cacheKey }).loadVerified(trusted))?.verified.version,
      ).toBe(3n);

      const noKey = await new SnapshotCache(data, logger).load();
      expect(noKey).toMatchObject({ status: 'refused', code: 'GH_ERR_DP_CACHE_KEY' });
      expect(noKey.status === 'refused' && noKey.reason).toMatch(/encrypted and no cache key is set/);
      const otherKey = await new SnapshotCache(data, logger, { key: randomBytes(32) }).load();
      expect(otherKey).toMatchObject({ status: 'refused', code: 'GH_ERR_DP_CACHE_KEY' });
      expect(otherKey.status === 'refused' && otherKey.reason).toMatch(/does not decrypt/);
    });

    it('reads a plain cache written before the key was set', async () => {
      const data = join(dir, 'data');
      await new SnapshotCache(data, logger).write(
        await signSnapshot({ config: secretConfig(), version: 1n, cpId: 'cp', key }),
      );
      // What the key is for: a plain cache holds the secrets a DP must keep (the helper finds them).
      const raw = await readFile(join(data, SNAPSHOT_CACHE_FILE));
      expect(tryGunzipAnywhere(raw).includes(Buffer.from('alice-hmac-secret'))).toBe(true);
      expect(await new SnapshotCache(data, logger, { key: randomBytes(32) }).load()).toMatchObject({
        status: 'ok',
        encrypted: false,
      });
    });
  });
});

/** Every gzip stream found in the bytes, inflated (none in an encrypted file). */
function tryGunzipAnywhere(bytes: Buffer): Buffer {
  const out: Buffer[] = [];
  for (let i = bytes.indexOf(0x1f); i >= 0 && i < bytes.length - 1; i = bytes.indexOf(0x1f, i + 1)) {
    if (bytes[i + 1] !== 0x8b) continue;
    try {
      out.push(inflateRawSync(bytes.subarray(i + 10)) /* past the 10-byte gzip header */);
    } catch {
      // not a gzip stream here
    }
  }
  return Buffer.concat(out);
}

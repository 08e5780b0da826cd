import { importJWK } from 'jose';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  createLogger,
  generateSigningKeyPair,
  SERVICE_DEFAULTS,
  SNAPSHOT_ALG,
  verifySnapshot,
  type GatehouseConfig,
  type SigningKey,
  type TrustedKeys,
  emptyConfig,
  hashBasicAuthPassword,
  keyAuthLookup,
} from '@gatehouse/shared';
import { SnapshotPublisher, type ConfigSource, type PublishedSnapshot } from './publisher.js';

const logger = createLogger('publisher-test', { level: 'silent' });

/** An in-memory config source: each write bumps the version and notifies, like ConfigStore. */
class MemorySource implements ConfigSource {
  version = 1n;
  config: GatehouseConfig = emptyConfig();
  reads = 0;
  concurrentReads = 0;
  maxConcurrentReads = 0;
  failNext = 0;
  /** When set, each read waits for this promise (lets a test hold a build open). */
  gate: Promise<void> | null = null;
  private listeners = new Set<(v: bigint) => void>();

  async readConfig() {
    this.reads++;
    this.concurrentReads++;
    this.maxConcurrentReads = Math.max(this.maxConcurrentReads, this.concurrentReads);
    try {
      const snapshot = { version: this.version, config: structuredClone(this.config) };
      if (this.gate) await this.gate;
      if (this.failNext > 0) {
        this.failNext--;
        throw new Error('database unavailable');
      }
      return snapshot;
    } finally {
      this.concurrentReads--;
    }
  }

  onChange(listener: (v: bigint) => void) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Adds a service named `name` (a real change). */
  write(name: string): void {
    this.config.services.push({
      ...SERVICE_DEFAULTS,
      id: name,
      name,
      host: `${name}.local`,
      created_at: 1,
      updated_at: 1,
    });
    this.touch();
  }

  /** Bumps the version without changing the config (e.g. a PATCH with identical values). */
  touch(): void {
    this.version++;
    for (const l of this.listeners) l(this.version);
  }
}

let key: SigningKey;
let trusted: TrustedKeys;
beforeAll(async () => {
  const pair = await generateSigningKeyPair();
  key = { kid: pair.kid, key: await importJWK(pair.privateJwk, SNAPSHOT_ALG) };
  trusted = new Map([[pair.kid, await importJWK(pair.publicJwk, SNAPSHOT_ALG)]]);
});

let source: MemorySource;
let publisher: SnapshotPublisher;
let published: PublishedSnapshot[];

const newPublisher = (
  s: ConfigSource,
  extra: Partial<ConstructorParameters<typeof SnapshotPublisher>[0]> = {},
) => {
  const p = new SnapshotPublisher({
    source: s,
    key,
    cpId: 'cp-a',
    logger,
    debounceMs: 50,
    maxWaitMs: 250,
    ...extra,
  });
  p.on('snapshot', (snap) => published.push(snap));
  return p;
};

/** Advances fake time in small steps, letting each build (real crypto) finish as it goes. */
async function advance(ms: number, step = 5): Promise<void> {
  for (let t = 0; t < ms; t += step) {
    await vi.advanceTimersByTimeAsync(step);
    await publisher.settled();
  }
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
  source = new MemorySource();
  published = [];
  publisher = newPublisher(source);
});
afterEach(async () => {
  await publisher.stop();
  vi.useRealTimers();
});

describe('SnapshotPublisher', () => {
  it('builds and publishes the first snapshot at start; it verifies with the public key', async () => {
    source.write('a');
    await publisher.start();
    expect(published).toHaveLength(1);
    const latest = publisher.latest!;
    expect(latest.snapshot.version).toBe(2n);
    expect(latest.builtAt).toBeInstanceOf(Date);
    const v = await verifySnapshot(latest.snapshot, trusted);
    expect(v.config.services.map((s) => s.name)).toEqual(['a']);
    expect(v.claims.cp).toBe('cp-a');
  });

  it('coalesces a burst of 20 writes into one build that holds the final config', async () => {
    await publisher.start();
    for (let i = 0; i < 20; i++) {
      source.write(`svc-${String(i).padStart(2, '0')}`);
      await advance(5);
    }
    await advance(300);
    expect(publisher.stats.builds).toBe(2);
    expect(published).toHaveLength(2);
    const last = await verifySnapshot(published[1]!.snapshot, trusted);
    expect(last.version).toBe(21n);
    expect(last.config.services).toHaveLength(20);
  });

  it('still publishes during a steady stream of writes (max wait bounds the delay)', async () => {
    await publisher.start();
    for (let i = 0; i < 100; i++) {
      source.write(`s${i}`);
      await advance(10);
    }
    // 1000 ms of writes every 10 ms: the trailing debounce alone would never fire.
    const duringBurst = publisher.stats.builds - 1;
    expect(duringBurst).toBeGreaterThanOrEqual(3);
    expect(duringBurst).toBeLessThanOrEqual(5);
    await advance(300);
    expect(publisher.latest!.snapshot.version).toBe(101n);
  });

  it('never runs two builds at once; a change during a build triggers exactly one more', async () => {
    await publisher.start();
    let open!: () => void;
    source.gate = new Promise<void>((r) => (open = r));
    source.write('a');
    await vi.advanceTimersByTimeAsync(60); // build #2 starts and blocks in readConfig
    expect(source.concurrentReads).toBe(1);
    for (let i = 0; i < 5; i++) {
      source.write(`during-${i}`);
      await vi.advanceTimersByTimeAsync(100);
    }
    expect(source.maxConcurrentReads).toBe(1);
    source.gate = null;
    open();
    await advance(300);
    expect(source.maxConcurrentReads).toBe(1);
    expect(publisher.stats.builds).toBe(3);
    expect(publisher.latest!.snapshot.version).toBe(source.version);
    expect((await verifySnapshot(publisher.latest!.snapshot, trusted)).config.services).toHaveLength(6);
  });

  it('does not republish when the hash is unchanged (version bumped, same config)', async () => {
    source.write('a');
    await publisher.start();
    source.touch();
    await advance(100);
    expect(publisher.stats).toMatchObject({ builds: 2, published: 1, unchanged: 1 });
    expect(publisher.latest!.snapshot.version).toBe(2n);
  });

  it('ignores a change notice for a version the latest snapshot already covers', async () => {
    source.write('a');
    await publisher.start();
    publisher.notifyChange(2n);
    publisher.notifyChange(1n);
    await advance(300);
    expect(publisher.stats.builds).toBe(1);
  });

  it('gives the same bytes and hash on two replicas with different keys and cp ids', async () => {
    source.write('b');
    source.write('a');
    const other = new MemorySource();
    other.write('a');
    other.write('b');
    const pair = await generateSigningKeyPair();
    const replica = new SnapshotPublisher({
      source: other,
      key: { kid: pair.kid, key: await importJWK(pair.privateJwk, SNAPSHOT_ALG) },
      cpId: 'cp-b',
      logger,
    });
    await publisher.start();
    await replica.start();
    const a = publisher.latest!.snapshot;
    const b = replica.latest!.snapshot;
    expect(b.hash).toBe(a.hash);
    expect(b.version).toBe(a.version);
    expect(Buffer.from(b.config).equals(Buffer.from(a.config))).toBe(true);
    await replica.stop();
  });

  it('rejects start when the first build fails, and retries later builds with backoff', async () => {
    source.failNext = 1;
    await expect(publisher.start()).rejects.toThrow('database unavailable');
    await publisher.start();
    source.failNext = 2;
    source.write('a');
    await advance(60);
    expect(publisher.stats.failures).toBe(2);
    expect(publisher.latest!.snapshot.version).toBe(1n);
    await advance(500); // first retry (500 ms) fails again
    expect(publisher.stats.failures).toBe(3);
    await advance(1000); // second retry (1 s) succeeds
    expect(publisher.latest!.snapshot.version).toBe(2n);
  });

  it('stops watching on stop: later writes build nothing', async () => {
    await publisher.start();
    source.write('a');
    await publisher.stop();
    source.write('b');
    await advance(1000);
    expect(publisher.stats.builds).toBe(1);
  });

  it('waitForVersion resolves once a snapshot at or past that version is out', async () => {
    await publisher.start();
    const waiting = publisher.waitForVersion(3n);
    source.write('a');
    source.write('b');
    await advance(100);
    expect((await waiting).snapshot.version).toBe(3n);
    await expect(publisher.waitForVersion(1n)).resolves.toBe(publisher.latest);
  });

  it('sends key-auth keys only as keyed digests and basic-auth passwords only as their hash', async () => {
    const consumer = { id: '00000000-0000-4000-8000-0000000000c1' };
    source.config.keyauth_credentials.push({
      id: '00000000-0000-4000-8000-0000000000a1',
      consumer,
      key: 'alice-secret-key',
      ttl: null,
      tags: null,
      created_at: 1,
    });
    source.config.basicauth_credentials.push({
      id: '00000000-0000-4000-8000-0000000000b1',
      consumer,
      username: 'alice',
      password: hashBasicAuthPassword('alice-basic-password'),
      tags: null,
      created_at: 1,
    });
    await publisher.start();
    const snap = publisher.latest!.snapshot;
    const v = await verifySnapshot(snap, trusted);
    for (const bytes of [Buffer.from(snap.config), v.bytes]) {
      expect(bytes.includes(Buffer.from('alice-secret-key'))).toBe(false);
      expect(bytes.includes(Buffer.from('alice-basic-password'))).toBe(false);
    }
    const lookup = keyAuthLookup(v.config);
    expect(lookup.indexKey(v.config.keyauth_credentials[0]!.key)).toBe(lookup.digest('alice-secret-key'));
    expect(v.config.basicauth_credentials[0]!.password).toMatch(/^\$scrypt\$/);
    // The CP's own config (what the Admin API shows) is untouched.
    expect(source.config.keyauth_credentials[0]!.key).toBe('alice-secret-key');
  });
});

/**
 * Cold start from JetStream: a data plane with no usable disk cache (and no config yet) reads
 * the newest snapshot of its slice from the CP's JetStream store (layout:
 * shared/src/snapshot/jetstream-layout.ts) and offers it to the SnapshotApplier, which runs the
 * SAME checks as for a snapshot from the stream (signature by a trusted key, hash, version,
 * rollback floor). The store is not trusted: a tampered, unsigned or unreadable object is refused
 * with a log line and `gatehouse_dp_jetstream_boot_total{result}`, and the DP tries again later.
 *
 * It runs beside the CP stream and never delays serving: it stops as soon as the DP holds a
 * config from any source (the stream, when it comes, wins if newer). NATS unreachable at boot
 * just means no cold start from it (retried with backoff while there is no config).
 */
import { fromBinary } from '@bufbuild/protobuf';
import { Kvm, type KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { SnapshotSchema } from '@gatehouse/proto';
import {
  decodeSnapshotManifest,
  DEFAULT_SLICE_KEY,
  isGatehouseError,
  sha256Hex,
  SNAPSHOT_BUCKET,
  snapshotChunkKey,
  snapshotHeadKey,
  signedSnapshotFromProto,
  SnapshotErrors,
  type Logger,
  type NatsLink,
  type SignedSnapshot,
} from '@gatehouse/shared';
import { Backoff, type BackoffOptions } from './backoff.js';
import { SyncErrorCode } from './errors.js';
import type { SnapshotApplier } from './snapshot-applier.js';

/**
 * waiting: trying; applied: serving what it read; superseded: a config came from elsewhere (the
 * CP stream) first, so it stopped; stopped: the DP stopped.
 */
export type JetStreamBootState = 'waiting' | 'applied' | 'superseded' | 'stopped';

export interface JetStreamBootStatus {
  state: JetStreamBootState;
  bucket: string;
  attempts: number;
  /** Why the last attempt gave nothing (code and reason), null after success. */
  last_error: { code: string; reason: string; at: string } | null;
}

export type JetStreamBootResult = 'applied' | 'refused' | 'empty' | 'unreachable' | 'superseded';

export interface JetStreamBootOptions {
  /** The process's NATS link (the boot reads on it while it is connected; never closes it). */
  nats: NatsLink;
  applier: SnapshotApplier;
  logger: Logger;
  nodeId: string;
  /** Default `gatehouse_snapshots`. */
  bucket?: string;
  /**
   * The DP's placement key (`sliceKeyOf(region, labels)`): the CPs store the slice of each
   * placement a DP of theirs has, and the slice of no region and no labels as 'default'. A DP
   * whose placement has none stored boots from 'default' (the unscoped entities: a subset of its
   * slice, never another region's), and the CP stream brings the rest.
   */
  sliceKey?: string;
  /** Counts each attempt's result. */
  onResult?: (result: JetStreamBootResult) => void;
  /** Retry delays (default 1 s doubling to 30 s, jittered). */
  backoff?: BackoffOptions;
}

/**
 * The stored snapshot of `sliceKey`, or null when none is stored. Throws
 * GH_ERR_SNAPSHOT_STORE_MALFORMED when the manifest or chunks do not make a Snapshot message
 * (never verified here: the applier verifies).
 */
export async function readStoredSnapshot(kv: KV, sliceKey: string): Promise<SignedSnapshot | null> {
  const head = await kv.get(snapshotHeadKey(sliceKey));
  if (!head || head.operation !== 'PUT') return null;
  const m = decodeSnapshotManifest(head.value);
  const bytes = new Uint8Array(m.size);
  let at = 0;
  for (let n = 0; n < m.chunks; n++) {
    const chunk = await kv.get(snapshotChunkKey(sliceKey, m.id, n));
    if (!chunk || chunk.operation !== 'PUT')
      throw SnapshotErrors.storeMalformed(
        `stored snapshot ${m.version}: chunk ${n} of ${m.chunks} is missing`,
      );
    if (chunk.value.length === 0 || at + chunk.value.length > m.size)
      throw SnapshotErrors.storeMalformed(
        `stored snapshot ${m.version}: chunks exceed the ${m.size} bytes announced`,
      );
    bytes.set(chunk.value, at);
    at += chunk.value.length;
  }
  if (at !== m.size)
    throw SnapshotErrors.storeMalformed(
      `stored snapshot ${m.version}: ${at} bytes read, ${m.size} announced`,
    );
  if (sha256Hex(bytes) !== m.sha256)
    throw SnapshotErrors.storeMalformed(
      `stored snapshot ${m.version}: chunks do not match the manifest's digest`,
    );
  return decodeStoredSnapshot(bytes);
}

/** The Snapshot message in stored bytes; throws GH_ERR_SNAPSHOT_STORE_MALFORMED. */
export function decodeStoredSnapshot(bytes: Uint8Array): SignedSnapshot {
  let signed: SignedSnapshot;
  try {
    signed = signedSnapshotFromProto(fromBinary(SnapshotSchema, bytes));
  } catch (e) {
    throw SnapshotErrors.storeMalformed(`stored snapshot is not a Snapshot message: ${(e as Error).message}`);
  }
  if (signed.jws === '' || signed.hash === '')
    throw SnapshotErrors.storeMalformed('stored snapshot has no signature');
  return signed;
}

export class JetStreamBoot {
  readonly bucket: string;
  private readonly sliceKeys: string[];
  private readonly backoff: Backoff;
  private readonly log: Logger;
  private timer: NodeJS.Timeout | null = null;
  private wake: (() => void) | null = null;
  private loop: Promise<void> | null = null;
  private readonly state: JetStreamBootStatus;
  private warned = new Set<string>();

  constructor(private readonly o: JetStreamBootOptions) {
    this.bucket = o.bucket ?? SNAPSHOT_BUCKET;
    const own = o.sliceKey ?? DEFAULT_SLICE_KEY;
    this.sliceKeys = own === DEFAULT_SLICE_KEY ? [own] : [own, DEFAULT_SLICE_KEY];
    this.backoff = new Backoff({ baseMs: o.backoff?.baseMs ?? 1000, maxMs: o.backoff?.maxMs ?? 30_000 });
    this.log = o.logger.child({ component: 'jetstream-boot', bucket: this.bucket, slice: this.sliceKeys[0] });
    this.state = { state: 'waiting', bucket: this.bucket, attempts: 0, last_error: null };
  }

  status(): JetStreamBootStatus {
    return { ...this.state };
  }

  /** Starts trying in the background (returns at once). */
  start(): void {
    if (this.loop) return;
    // A config from any source ends the wait at once.
    const onApplied = () => this.wake?.();
    this.o.applier.on('applied', onApplied);
    this.loop = this.run().finally(() => this.o.applier.off('applied', onApplied));
  }

  /** Stops trying and closes the NATS connection. */
  async stop(): Promise<void> {
    if (this.state.state === 'waiting') this.state.state = 'stopped';
    if (this.timer) clearTimeout(this.timer);
    this.wake?.();
    await this.loop;
  }

  private get done(): boolean {
    return this.state.state !== 'waiting' || this.o.applier.held !== null;
  }

  private async run(): Promise<void> {
    this.log.info('no config yet: looking for the newest snapshot in JetStream');
    while (!this.done) {
      const result = await this.attempt();
      this.o.onResult?.(result);
      if (result === 'applied') {
        this.state.state = 'applied';
        break;
      }
      if (this.done) break;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        this.timer = setTimeout(resolve, this.backoff.next());
      });
      if (this.timer) clearTimeout(this.timer);
      this.wake = null;
    }
    if (this.state.state === 'waiting') this.state.state = 'superseded';
  }

  private async attempt(): Promise<JetStreamBootResult> {
    this.state.attempts++;
    let signed: SignedSnapshot | null;
    try {
      const nc = this.connection();
      const kv = await new Kvm(nc).open(this.bucket);
      signed = null;
      for (const key of this.sliceKeys) {
        signed = await readStoredSnapshot(kv, key);
        if (signed) break;
      }
    } catch (e) {
      const malformed = isGatehouseError(e);
      const code = malformed ? e.code : SyncErrorCode.JETSTREAM_UNREACHABLE;
      this.fail(code, (e as Error).message, malformed ? 'error' : 'warn');
      return malformed ? 'refused' : 'unreachable';
    }
    if (!signed) {
      this.fail(
        SyncErrorCode.JETSTREAM_EMPTY,
        `no snapshot stored in ${this.bucket} for slice ${this.sliceKeys.join(' or ')}`,
        'info',
      );
      return 'empty';
    }
    if (this.done) return 'superseded';
    const outcome = await this.o.applier.handle(signed, 'jetstream');
    if (outcome.ok) {
      this.state.last_error = null;
      this.log.info(
        { version: outcome.version.toString(), hash: outcome.hash },
        'cold start: serving the snapshot stored in JetStream',
      );
      return 'applied';
    }
    // Held a config meanwhile (the stream came first): nothing was refused that matters.
    if (this.o.applier.held !== null) return 'superseded';
    this.fail(outcome.code, outcome.reason, 'error');
    return 'refused';
  }

  private fail(code: string, reason: string, level: 'info' | 'warn' | 'error'): void {
    this.state.last_error = { code, reason, at: new Date().toISOString() };
    const msg =
      level === 'error'
        ? 'cold start: the snapshot stored in JetStream was refused; trying again later'
        : 'cold start: no snapshot from JetStream yet; trying again later';
    // Each kind of failure once at its level, then at debug (a retry loop must not flood the log).
    const key = `${code}:${reason}`;
    if (this.warned.has(key)) this.log.debug({ code, reason }, msg);
    else {
      this.warned.add(key);
      this.log[level]({ code, reason }, msg);
    }
  }

  /** The link's client while it is connected; otherwise an error that counts as unreachable. */
  private connection(): NatsConnection {
    const nc = this.o.nats.connection;
    if (this.o.nats.state !== 'connected' || nc === null) throw new Error(`NATS is ${this.o.nats.state}`);
    return nc;
  }
}

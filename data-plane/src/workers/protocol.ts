/**
 * Messages between the primary and its workers over the node:cluster IPC channel. The channel
 * uses `serialization: 'advanced'` (V8 structured clone), so the config travels as its bytes: a
 * Uint8Array is written and read back as raw bytes (the worker gets a view of what it read, no
 * copy), where a string of the same size costs the worker a slow string deserialization.
 *
 * Target health is decided once per node: the primary runs the active checks and sends every
 * change (`health`); a worker counts its own passive checks and reports each change it sees
 * (`health` the other way), which the primary takes and sends to every worker.
 */
import type { TargetHealthChange } from '../balancer/balancers.js';
import type { RequestPolicy } from '../proxy/request-head.js';
import type { ClientLimits } from '../proxy/client-connections.js';
import type { NodeConfig } from '../runtime/node-config.js';
import type { MetricsDelta } from '../observe/metric-store.js';
import type { AccessLogSettings } from '../observe/access-log.js';
import type { TlsPolicy } from '@gatehouse/shared';
import type { Http2Settings } from '../proxy/http2-edge.js';
import type { DnsSettings } from '../dns/settings.js';
import type { UpstreamClient } from '../proxy/pool-spec.js';

export type { TargetHealthChange };

/**
 * Primary -> worker: a config. Alone (a worker replacing another, a roll back) the worker
 * compiles and swaps it in and answers `applied`. With `prepare` (an apply round) it only
 * compiles it and answers `prepared`: it swaps on the round's `commit`, or drops it on `abort`,
 * so no worker serves a config before every worker has compiled it.
 */
export interface ConfigMessage {
  t: 'config';
  /** Identifies the apply round; echoed in the answer. */
  seq: number;
  /** Snapshot version, decimal (bigint does not cross every channel). */
  version: string;
  hash: string;
  /** The config as UTF-8 JSON: the canonical bytes of a verified snapshot. */
  bytes: Uint8Array;
  /** Compile and hold it until `commit` (answer `prepared`) instead of swapping at once. */
  prepare?: boolean;
  /** Send the config's node part (NodeConfig) back with `prepared`: one worker of a round is asked. */
  node?: boolean;
}

/** Primary -> worker: every worker compiled the config of round `seq`: swap it in, answer `applied`. */
export interface CommitMessage {
  t: 'commit';
  seq: number;
}

/** Primary -> worker: the round `seq` failed elsewhere: drop the config compiled for it. */
export interface AbortMessage {
  t: 'abort';
  seq: number;
}

/** Primary -> worker: stop accepting, drain in-flight requests for at most drainMs, exit. */
export interface ShutdownMessage {
  t: 'shutdown';
  drainMs: number;
}

/** Primary -> worker: target health decided on this node (active checks, another worker's passive ones). */
export interface NodeHealthMessage {
  t: 'health';
  changes: TargetHealthChange[];
}

/**
 * Primary -> worker: there is no configuration to serve (none received yet, no usable cache):
 * listen anyway, answering 503 until one comes. A worker booting while a config exists gets
 * that config instead and listens once it is applied, so it never answers 503 beside others
 * that serve.
 */
export interface ListenMessage {
  t: 'listen';
}

/** Primary -> worker: remove proxy-cache entries (null = every plugin / every key). */
export interface ProxyCachePurgeMessage {
  t: 'proxy-cache-purge';
  pluginId: string | null;
  key: string | null;
}

/** Primary -> worker: oauth2 access tokens revoked outside the config (oauth2/revoked-tokens.ts). */
export interface OAuth2RevokedMessage {
  t: 'oauth2-revoked';
  tokens: { jti: string; expiresAt: number }[];
}

/** Primary -> worker: send what your metrics counted since the previous pull (a scrape is on). */
export interface MetricsPullMessage {
  t: 'metrics-pull';
  id: number;
}

export type PrimaryToWorker =
  | ConfigMessage
  | CommitMessage
  | AbortMessage
  | ShutdownMessage
  | NodeHealthMessage
  | ListenMessage
  | ProxyCachePurgeMessage
  | OAuth2RevokedMessage
  | MetricsPullMessage;

/**
 * Worker -> primary: allowance leases of the `local` policy (ratelimit/leases.ts). The worker's
 * lease on each counter is used up (or it has none); it asks for a block. `counters` is flat: per
 * counter its lease key (`<window s>|<window start>|<limit key>`), its limit and when it may be
 * forgotten (epoch ms).
 */
export interface LeaseAskMessage {
  t: 'lease-ask';
  counters: (string | number)[];
}

/**
 * Primary -> worker: blocks of allowance. `grants` is flat: per counter its lease key, the block
 * (0: the counter is full for its window, every unit of it used) and the node's allowance handed
 * out after this grant.
 */
export interface LeaseGrantMessage {
  t: 'lease-grant';
  grants: (string | number)[];
}

/** Primary -> worker: hand back the unused allowance of these counters (another worker needs it). */
export interface LeaseReclaimMessage {
  t: 'lease-reclaim';
  keys: string[];
}

/** Worker -> primary: the unused allowance handed back, flat: per counter its lease key and the units. */
export interface LeaseReturnMessage {
  t: 'lease-return';
  returns: (string | number)[];
}

/** Primary -> worker lease messages (read by the lease policy, not the runtime). */
export type LeaseToWorker = LeaseGrantMessage | LeaseReclaimMessage;

/** Worker -> primary: booted, waiting for a config or a `listen` (does not listen yet). */
export interface ReadyMessage {
  t: 'ready';
}

/** Worker -> primary: the proxy listens (on `port`), with or without a config. */
export interface ListeningMessage {
  t: 'listening';
  port: number | null;
}

/** Worker -> primary: the config of round `seq` is live and the worker is accepting traffic. */
export interface AppliedMessage {
  t: 'applied';
  seq: number;
  version: string;
  hash: string;
  /** Port the proxy listens on (known after the first apply). */
  port: number | null;
}

/** Worker -> primary: the config of round `seq` compiled and waits for `commit` (or `abort`). */
export interface PreparedMessage {
  t: 'prepared';
  seq: number;
  /** The config's node part, when the message asked for it. */
  node: NodeConfig | null;
}

/** Worker -> primary: the config of round `seq` was not applied; the old one (if any) stays. */
export interface FailedMessage {
  t: 'failed';
  seq: number;
  reason: string;
  code: string | null;
}

/** Worker -> primary: this worker's passive checks changed a target's health. */
export interface PassiveHealthMessage {
  t: 'health';
  change: TargetHealthChange;
}

/**
 * Worker -> primary: the `local` rate-limiting policy's counter operations of one event-loop
 * turn (every request of the turn in one message). The primary holds the node's counters.
 * `ops` is flat (primitives serialize faster than nested objects): per operation its amount
 * (0: read only), the number of counters, then each counter's key, window length (s) and start (ms).
 */
export interface CounterRequestMessage {
  t: 'counters';
  id: number;
  ops: (string | number)[];
  /** Whose counters: the node's `local` store (absent) or the node's `cluster` policy. */
  store?: 'cluster';
}

/** Primary -> worker: every counter's value after its operation, in order (`error` when it could not). */
export interface CounterReplyMessage {
  t: 'counters';
  id: number;
  values: number[];
  error?: string;
  /** The request's `store`, so the worker hands the reply to the policy that asked. */
  store?: 'cluster';
}

/** Worker -> primary: the answer to `metrics-pull` (observe/metric-store.ts). */
export interface MetricsMessage {
  t: 'metrics';
  id: number;
  delta: MetricsDelta;
}

/** Worker -> primary: redeem an oauth2 code or refresh token at the control plane (oauth2/ledger.ts). */
export interface GrantRedeemMessage {
  t: 'grant-redeem';
  id: number;
  grant: GrantTokenId;
  alsoRevoke: GrantTokenId[];
}

export interface GrantTokenId {
  jti: string;
  credentialId: string;
  /** Unix seconds; 0: never expires. */
  expiresAt: number;
}

/** Primary -> worker: the control plane's answer to `grant-redeem`. */
export interface GrantRedeemedMessage {
  t: 'grant-redeemed';
  id: number;
  result: 'redeemed' | 'already-used' | 'unavailable';
}

export type WorkerToPrimary =
  | GrantRedeemMessage
  | MetricsMessage
  | ReadyMessage
  | ListeningMessage
  | AppliedMessage
  | PreparedMessage
  | FailedMessage
  | PassiveHealthMessage
  | CounterRequestMessage
  | LeaseAskMessage
  | LeaseReturnMessage;

/** Settings a worker reads from its environment at boot (GATEHOUSE_DP_WORKER, JSON). */
export interface WorkerSettings {
  host: string;
  port: number;
  drainTimeoutMs: number;
  /** Custom plugin folders (the bundled plugins are always there). */
  pluginDirs?: string[];
  /** Kong's trusted_ips (see ProxyServerOptions.trustedIps). */
  trustedIps?: string[];
  /** Request-line, path and header rules (see ProxyServerOptions.requestPolicy). */
  requestPolicy?: Partial<RequestPolicy>;
  /** HTTPS listener; the default certificate is made once by the primary so every worker serves the same. */
  tls?: { host: string; port: number; cert: string; key: string; policy: TlsPolicy } | null;
  /** Client connection limits (timeouts, per-IP cap); defaults when absent. */
  clientLimits?: Partial<ClientLimits>;
  /** HTTP/2 at the edge (see ProxyServerOptions.http2); defaults when absent. */
  http2?: Partial<Http2Settings>;
  /** Bytes of the worker's proxy-cache memory store (--proxy-cache-memory-size); default 128 MiB. */
  proxyCacheMemorySize?: number;
  /** The HTTP/1.1 client of plain-HTTP upstreams (--upstream-client); default DEFAULT_UPSTREAM_CLIENT. */
  upstreamClient?: UpstreamClient;
  /** Workers of the node: with one, the `local` policy counts in the worker (no IPC); default 2. */
  workers?: number;
  /** The access log (null = off) and the syslog plugin's server (--access-log*, --syslog-server). */
  logs?: LogSettings;
  /** Milliseconds between the worker's traffic reports to the primary; absent: no traffic recorder. */
  trafficFlushMs?: number;
  /** The DNS resolver's settings (--dns-*); absent: the worker resolves no names itself (undici does). */
  dns?: DnsSettings;
}

/** What the DP's log settings give each worker. */
export interface LogSettings {
  accessLog: AccessLogSettings | null;
  syslogServer: { host: string; port: number };
}

export const WORKER_SETTINGS_ENV = 'GATEHOUSE_DP_WORKER';

export function isWorkerToPrimary(m: unknown): m is WorkerToPrimary {
  if (typeof m !== 'object' || m === null) return false;
  const t = (m as { t?: unknown }).t;
  return (
    t === 'ready' ||
    t === 'listening' ||
    t === 'applied' ||
    t === 'prepared' ||
    t === 'failed' ||
    t === 'health' ||
    t === 'counters' ||
    t === 'lease-ask' ||
    t === 'lease-return' ||
    t === 'metrics' ||
    t === 'grant-redeem'
  );
}

/** A grant redemption answer (kept out of PrimaryToWorker: the oauth2 ledger reads it). */
export function isGrantRedeemed(m: unknown): m is GrantRedeemedMessage {
  return typeof m === 'object' && m !== null && (m as { t?: unknown }).t === 'grant-redeemed';
}

/** A lease grant or reclaim (kept out of PrimaryToWorker: the lease policy reads it, not the runtime). */
export function isLeaseToWorker(m: unknown): m is LeaseToWorker {
  if (typeof m !== 'object' || m === null) return false;
  const t = (m as { t?: unknown }).t;
  return t === 'lease-grant' || t === 'lease-reclaim';
}

/** A counter reply (kept out of PrimaryToWorker: the rate-limit client reads it, not the runtime). */
export function isCounterReply(m: unknown): m is CounterReplyMessage {
  return typeof m === 'object' && m !== null && (m as { t?: unknown }).t === 'counters';
}

export function isPrimaryToWorker(m: unknown): m is PrimaryToWorker {
  if (typeof m !== 'object' || m === null) return false;
  const t = (m as { t?: unknown }).t;
  return (
    t === 'config' ||
    t === 'commit' ||
    t === 'abort' ||
    t === 'shutdown' ||
    t === 'health' ||
    t === 'listen' ||
    t === 'proxy-cache-purge' ||
    t === 'oauth2-revoked' ||
    t === 'metrics-pull'
  );
}

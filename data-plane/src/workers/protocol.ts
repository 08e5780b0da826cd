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

export type { TargetHealthChange };

/** Primary -> worker: swap in this config. */
export interface ConfigMessage {
  t: 'config';
  /** Identifies the apply round; echoed in the answer. */
  seq: number;
  /** Snapshot version, decimal (bigint does not cross every channel). */
  version: string;
  hash: string;
  /** The config as UTF-8 JSON: the canonical bytes of a verified snapshot. */
  bytes: Uint8Array;
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

export type PrimaryToWorker =
  ConfigMessage | ShutdownMessage | NodeHealthMessage | ListenMessage | ProxyCachePurgeMessage;

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

export type WorkerToPrimary =
  | ReadyMessage
  | ListeningMessage
  | AppliedMessage
  | FailedMessage
  | PassiveHealthMessage
  | CounterRequestMessage;

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
  tls?: { host: string; port: number; cert: string; key: string } | null;
  /** Client connection limits (timeouts, per-IP cap); defaults when absent. */
  clientLimits?: Partial<ClientLimits>;
  /** Bytes of the worker's proxy-cache memory store (--proxy-cache-memory-size); default 128 MiB. */
  proxyCacheMemorySize?: number;
  /** Milliseconds between the worker's traffic reports to the primary; absent: no traffic recorder. */
  trafficFlushMs?: number;
}

export const WORKER_SETTINGS_ENV = 'GATEHOUSE_DP_WORKER';

export function isWorkerToPrimary(m: unknown): m is WorkerToPrimary {
  if (typeof m !== 'object' || m === null) return false;
  const t = (m as { t?: unknown }).t;
  return (
    t === 'ready' ||
    t === 'listening' ||
    t === 'applied' ||
    t === 'failed' ||
    t === 'health' ||
    t === 'counters'
  );
}

/** A counter reply (kept out of PrimaryToWorker: the rate-limit client reads it, not the runtime). */
export function isCounterReply(m: unknown): m is CounterReplyMessage {
  return typeof m === 'object' && m !== null && (m as { t?: unknown }).t === 'counters';
}

export function isPrimaryToWorker(m: unknown): m is PrimaryToWorker {
  if (typeof m !== 'object' || m === null) return false;
  const t = (m as { t?: unknown }).t;
  return t === 'config' || t === 'shutdown' || t === 'health' || t === 'listen' || t === 'proxy-cache-purge';
}

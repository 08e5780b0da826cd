/**
 * One undici Pool per upstream origin (+ the connect settings that are pool-wide: connect
 * timeout, TLS), shared across configurations: a pool whose key is still in use survives a
 * config swap with its keep-alive connections; pools no longer referenced are retired by
 * draining (in-flight requests finish) and then closing. Balanced upstreams get one pool per
 * target (same rules: a target whose settings did not change keeps its pool).
 *
 * Pools are opened only by {@link UpstreamPools.bind}, when a compiled runtime is swapped in.
 */
import tls from 'node:tls';
import type * as Undici from 'undici';
import { buildConnector, Pool } from './undici-parts.js';
import type { Logger } from '@gatehouse/shared';
import { TlsErrors } from '../tls/upstream-tls.js';
import type { ServiceTarget } from './service-targets.js';
import { H2Pool } from './h2-upstream.js';
import { H1Pool } from './h1-upstream.js';
import { DEFAULT_UPSTREAM_CLIENT, type PoolSpec, type UpstreamClient } from './pool-spec.js';

export { poolSpec, type PoolSpec } from './pool-spec.js';

/**
 * What a target sends to: an undici Pool (HTTP/1.1), the llhttp client for plain HTTP/1.1 when
 * chosen (h1-upstream.ts), or, for gRPC services, an HTTP/2 session pool.
 */
export type UpstreamPool = Pool | H1Pool<Pool> | H2Pool;

/** Kong's upstream keepalive idle timeout (60 s) and a bound on connections per origin. */
const KEEP_ALIVE_TIMEOUT_MS = 60_000;
const MAX_CONNECTIONS_PER_ORIGIN = 1024;
const CLOSE_GRACE_MS = 30_000;

/** Number of certificates from the peer up to its trust anchor. */
function chainLength(socket: tls.TLSSocket): number {
  let cert = socket.getPeerCertificate(true) as tls.DetailedPeerCertificate | undefined;
  let n = 0;
  const seen = new Set<string>();
  while (cert !== undefined && cert.raw !== undefined && !seen.has(cert.fingerprint256)) {
    seen.add(cert.fingerprint256);
    n++;
    cert = cert.issuerCertificate;
  }
  return n;
}

export class UpstreamPools {
  private pools = new Map<string, UpstreamPool>();

  constructor(
    private readonly logger: Logger,
    /** The client of plain-HTTP/1.1 origins (https and gRPC origins always use undici / HTTP/2). */
    private readonly client: UpstreamClient = DEFAULT_UPSTREAM_CLIENT,
  ) {}

  /**
   * Opens the pools `specs` names (reusing the current ones by key), fills the pool slots of
   * `targets`, makes them current and retires the pools no longer named. On a failure nothing
   * changes (the pools opened by this call are destroyed).
   */
  bind(specs: ReadonlyMap<string, PoolSpec>, targets: readonly ServiceTarget[]): void {
    const next = new Map<string, UpstreamPool>();
    try {
      for (const [key, spec] of specs) next.set(key, this.pools.get(key) ?? this.create(spec));
    } catch (e) {
      for (const [key, pool] of next)
        if (this.pools.get(key) !== pool) void pool.destroy().catch(() => undefined);
      throw e;
    }
    for (const t of targets) {
      if (t.poolKey !== null) t.pool = next.get(t.poolKey)!;
      if (t.balanced !== null) t.balanced.pools = t.balanced.poolKeys.map((k) => next.get(k)!);
    }
    const old = this.pools;
    this.pools = next;
    for (const [key, pool] of old) {
      if (next.get(key) !== pool) this.retire(key, pool);
    }
  }

  async closeAll(): Promise<void> {
    const pools = [...this.pools];
    this.pools = new Map();
    await Promise.all(pools.map(([key, pool]) => this.drain(key, pool)));
  }

  private create(spec: PoolSpec): UpstreamPool {
    const t = spec.tls;
    if (spec.h2) return new H2Pool(spec.origin, { connectTimeout: spec.connectTimeout, tls: t });
    if (this.client === 'llhttp' && t === null && spec.origin.startsWith('http:'))
      return new H1Pool(spec.origin, {
        connectTimeout: spec.connectTimeout,
        keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
        connections: MAX_CONNECTIONS_PER_ORIGIN,
        fallback: () => this.undiciPool(spec),
      });
    return this.undiciPool(spec);
  }

  /** undici's Pool for `spec` (HTTP/1.1, TLS for an https origin). */
  private undiciPool(spec: PoolSpec): Pool {
    const t = spec.tls;
    const connectOptions = {
      timeout: spec.connectTimeout,
      rejectUnauthorized: t?.rejectUnauthorized === true,
      ...(t?.ca === undefined ? {} : { ca: t.ca }),
      ...(t?.cert === undefined ? {} : { cert: t.cert, key: t.privateKey }),
    };
    const depth = t?.verifyDepth ?? null;
    let connect: Undici.buildConnector.connector | Undici.buildConnector.BuildOptions = connectOptions;
    if (depth !== null) {
      const base = buildConnector(connectOptions);
      connect = (options, callback) =>
        base(options, (err, socket) => {
          if (err !== null) {
            callback(err, null);
            return;
          }
          // OpenSSL semantics: depth d allows the peer, d CAs and the trust anchor.
          if (socket instanceof tls.TLSSocket && chainLength(socket) > depth + 2) {
            socket.destroy();
            callback(
              TlsErrors.verifyDepthExceeded(
                `upstream certificate chain is longer than tls_verify_depth ${depth}`,
              ),
              null,
            );
            return;
          }
          callback(null, socket);
        });
    }
    return new Pool(spec.origin, {
      connections: MAX_CONNECTIONS_PER_ORIGIN,
      pipelining: 1,
      keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
      keepAliveMaxTimeout: KEEP_ALIVE_TIMEOUT_MS,
      connect,
    });
  }

  private retire(key: string, pool: UpstreamPool): void {
    void this.drain(key, pool);
  }

  private async drain(key: string, pool: UpstreamPool): Promise<void> {
    const timer = setTimeout(() => {
      this.logger.warn({ pool: key }, 'upstream pool did not drain in time; destroying it');
      void pool.destroy().catch(() => undefined);
    }, CLOSE_GRACE_MS);
    timer.unref();
    try {
      await pool.close();
    } catch (e) {
      this.logger.debug({ pool: key, err: e }, 'upstream pool close failed');
    } finally {
      clearTimeout(timer);
    }
  }
}

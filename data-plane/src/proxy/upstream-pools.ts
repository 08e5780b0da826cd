/**
 * One undici Pool per upstream origin (+ the connect settings that are pool-wide), shared across
 * configurations: a pool whose origin is still in use survives a config swap with its keep-alive
 * connections; pools no longer referenced are retired by draining (in-flight requests finish)
 * and then closing.
 */
import { Pool } from 'undici';
import type { Logger, Service } from '@gatehouse/shared';

/** Kong's upstream keepalive idle timeout (60 s) and a bound on connections per origin. */
const KEEP_ALIVE_TIMEOUT_MS = 60_000;
const MAX_CONNECTIONS_PER_ORIGIN = 1024;
const CLOSE_GRACE_MS = 30_000;

export function poolKey(service: Service): string {
  return `${service.protocol}://${service.host}:${service.port}|${service.connect_timeout}|${service.tls_verify === true ? 1 : 0}`;
}

export class UpstreamPools {
  private pools = new Map<string, Pool>();

  constructor(private readonly logger: Logger) {}

  /**
   * Returns the pools for `services`, reusing the current ones by key; the returned map becomes
   * current only when {@link commit} is called (so a failed compile leaves everything as it was).
   */
  prepare(services: Iterable<Service>): Map<string, Pool> {
    const next = new Map<string, Pool>();
    for (const service of services) {
      const key = poolKey(service);
      if (next.has(key)) continue;
      next.set(key, this.pools.get(key) ?? this.create(service));
    }
    return next;
  }

  /** Makes `next` current and retires the pools it no longer holds. */
  commit(next: Map<string, Pool>): void {
    const old = this.pools;
    this.pools = next;
    for (const [key, pool] of old) {
      if (next.get(key) !== pool) this.retire(key, pool);
    }
  }

  /** Drops pools created by a prepare() that was not committed. */
  discard(next: Map<string, Pool>): void {
    for (const [key, pool] of next) {
      if (this.pools.get(key) !== pool) void pool.destroy().catch(() => undefined);
    }
  }

  async closeAll(): Promise<void> {
    const pools = [...this.pools];
    this.pools = new Map();
    await Promise.all(pools.map(([key, pool]) => this.drain(key, pool)));
  }

  private create(service: Service): Pool {
    const scheme = service.protocol === 'https' || service.protocol === 'grpcs' ? 'https' : 'http';
    const host =
      service.host.includes(':') && !service.host.startsWith('[') ? `[${service.host}]` : service.host;
    return new Pool(`${scheme}://${host}:${service.port}`, {
      connections: MAX_CONNECTIONS_PER_ORIGIN,
      pipelining: 1,
      keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
      keepAliveMaxTimeout: KEEP_ALIVE_TIMEOUT_MS,
      connect: { timeout: service.connect_timeout, rejectUnauthorized: service.tls_verify === true },
    });
  }

  private retire(key: string, pool: Pool): void {
    void this.drain(key, pool);
  }

  private async drain(key: string, pool: Pool): Promise<void> {
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

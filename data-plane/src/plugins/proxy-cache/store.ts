/**
 * The proxy-cache memory store of one DP worker: an `lru-cache` bounded in bytes (the DP setting
 * `--proxy-cache-memory-size`, default 128 MiB), each entry kept for its storage TTL (Kong's
 * `storage_ttl`, else the resource TTL, else `cache_ttl`), the least recently used evicted first
 * when a new entry needs room. It also holds the misses in flight (request coalescing): the
 * first miss of a key goes upstream, later ones wait for its outcome.
 *
 * Every proxy-cache instance of the worker shares the one store (as Kong's instances share the
 * `memory.dictionary_name` shared dict); an entry remembers the instance that stored it, so a
 * purge by plugin id removes only that instance's entries.
 */
import { LRUCache } from 'lru-cache';
import type { HeaderValue } from '../api.js';

export const DEFAULT_MEMORY_SIZE = 128 * 1024 * 1024;

/** Bytes counted per entry beyond its body, headers and key (object and map overhead). */
const ENTRY_OVERHEAD = 256;

/** A cached response (Kong's `res` object: status, headers, body, timestamp, ttl). */
export interface CachedResponse {
  readonly status: number;
  /**
   * The upstream's headers as stored (hop-by-hop and the cache's own removed), in the form a hit
   * answers them (`replayHeaders`): made once when the entry is stored, copied by each hit.
   */
  readonly headers: Readonly<Record<string, HeaderValue>>;
  readonly body: Buffer;
  /** When it was stored (store clock, ms). */
  readonly timestamp: number;
  /** Its freshness lifetime in seconds (cache_ttl, or the resource's with cache_control). */
  readonly ttl: number;
  /** The proxy-cache instance that stored it. */
  readonly pluginId: string;
}

/**
 * Header pairs as a record of the first spelling of each name, repeated names (in any case)
 * merged into a list in order; a record without a prototype, so any name is a plain key.
 */
export function replayHeaders(pairs: readonly (readonly [string, string])[]): Record<string, HeaderValue> {
  const headers = Object.create(null) as Record<string, HeaderValue>;
  const names = new Map<string, string>();
  for (const [name, value] of pairs) {
    const lower = name.toLowerCase();
    const first = names.get(lower);
    if (first === undefined) {
      names.set(lower, name);
      headers[name] = value;
    } else {
      const prev = headers[first]!;
      headers[first] = typeof prev === 'string' ? [prev, value] : [...prev, value];
    }
  }
  return headers;
}

/** What a waiting miss learns: the entry the first miss stored, or null (go upstream yourself). */
export type FlightOutcome = CachedResponse | null;

interface Flight {
  readonly outcome: Promise<FlightOutcome>;
  settle(outcome: FlightOutcome): void;
}

export interface CacheStoreOptions {
  /** The byte bound (default DEFAULT_MEMORY_SIZE). */
  maxBytes?: number;
  /** The clock in ms (default Date.now); TTLs and ages are read from it. */
  now?: () => number;
}

function sizeOf(entry: CachedResponse, key: string): number {
  let n = ENTRY_OVERHEAD + key.length + entry.body.length;
  for (const name in entry.headers) {
    const value = entry.headers[name]!;
    if (typeof value === 'string') n += name.length + value.length + 16;
    else for (const v of value) n += name.length + v.length + 16;
  }
  return n;
}

export class CacheStore {
  readonly maxBytes: number;
  readonly now: () => number;
  private readonly lru: LRUCache<string, CachedResponse>;
  private readonly flights = new Map<string, Flight>();

  constructor(options: CacheStoreOptions = {}) {
    const maxBytes = options.maxBytes ?? DEFAULT_MEMORY_SIZE;
    if (!Number.isSafeInteger(maxBytes) || maxBytes < 1)
      throw new RangeError(`proxy-cache memory size must be a positive integer, got ${maxBytes}`);
    this.maxBytes = maxBytes;
    this.now = options.now ?? Date.now;
    const clock = this.now;
    this.lru = new LRUCache<string, CachedResponse>({
      maxSize: maxBytes,
      sizeCalculation: sizeOf,
      ttlAutopurge: false,
      allowStale: false,
      perf: { now: clock },
      // Read the clock at each lookup: lru-cache otherwise keeps "now" for 1 ms of real time, so a
      // clock that moved within that millisecond (the tests' injected one) was not seen.
      ttlResolution: 0,
    });
  }

  /** Entries held (expired ones not yet dropped included). */
  get size(): number {
    return this.lru.size;
  }

  /** Bytes held, as counted against the bound. */
  get bytes(): number {
    return this.lru.calculatedSize;
  }

  /** Whether an entry of `bytes` body bytes could be held at all. */
  fits(bytes: number): boolean {
    return bytes + ENTRY_OVERHEAD < this.maxBytes;
  }

  get(key: string): CachedResponse | undefined {
    return this.lru.get(key);
  }

  /** Reads without touching recency (the purge lookups). */
  peek(key: string): CachedResponse | undefined {
    return this.lru.peek(key);
  }

  /** Stores `entry` for `storageTtl` seconds (0: until evicted); false when it cannot fit. */
  set(key: string, entry: CachedResponse, storageTtl: number): boolean {
    if (sizeOf(entry, key) > this.maxBytes) return false;
    this.lru.set(key, entry, { ttl: storageTtl > 0 ? storageTtl * 1000 : 0 });
    return this.lru.has(key);
  }

  /** Removes `key` (only when `pluginId`, if given, stored it); true when something was removed. */
  purge(key: string, pluginId: string | null = null): boolean {
    const e = this.lru.peek(key);
    if (e === undefined || (pluginId !== null && e.pluginId !== pluginId)) return false;
    return this.lru.delete(key);
  }

  /** Removes every entry (or every entry `pluginId` stored); returns how many. */
  flush(pluginId: string | null = null): number {
    if (pluginId === null) {
      const n = this.lru.size;
      this.lru.clear();
      return n;
    }
    let n = 0;
    for (const [key, e] of this.lru.entries()) {
      if (e.pluginId === pluginId && this.lru.delete(key)) n++;
    }
    return n;
  }

  /** The miss in flight for `key`, if any: its outcome. */
  inFlight(key: string): Promise<FlightOutcome> | undefined {
    return this.flights.get(key)?.outcome;
  }

  /**
   * Registers the caller as the miss that goes upstream for `key`; returns its `settle`, which
   * must be called once (the entry stored, or null) and releases every waiter.
   */
  lead(key: string): (outcome: FlightOutcome) => void {
    let settle!: (o: FlightOutcome) => void;
    const outcome = new Promise<FlightOutcome>((resolve) => (settle = resolve));
    const flight: Flight = { outcome, settle };
    this.flights.set(key, flight);
    return (o) => {
      if (this.flights.get(key) === flight) this.flights.delete(key);
      settle(o);
    };
  }
}

/** A purge order (Admin API → CP → DP primary → workers): null fields mean "every". */
export interface PurgeOrder {
  readonly pluginId: string | null;
  readonly key: string | null;
}

let current: CacheStore | null = null;

/** The worker's store (made with the default size on first use unless configured before). */
export function proxyCacheStore(): CacheStore {
  return (current ??= new CacheStore());
}

/** Sets the worker's store (the worker at boot, with --proxy-cache-memory-size; tests). */
export function configureProxyCacheStore(options: CacheStoreOptions): CacheStore {
  current = new CacheStore(options);
  return current;
}

/** Applies a purge order to this worker's store; returns how many entries went. */
export function applyPurge(order: PurgeOrder): number {
  const store = proxyCacheStore();
  if (order.key === null) return store.flush(order.pluginId);
  return store.purge(order.key, order.pluginId) ? 1 : 0;
}

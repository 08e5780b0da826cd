/** A bounded LRU map with an optional per-entry expiry (Map insertion order = recency). */
export class Lru<V> {
  private readonly map = new Map<string, { value: V; expiresAt: number }>();

  constructor(private readonly max: number) {}

  get size(): number {
    return this.map.size;
  }

  get(key: string, now = Date.now()): V | undefined {
    const e = this.map.get(key);
    if (e === undefined) return undefined;
    if (e.expiresAt <= now) {
      this.map.delete(key);
      return undefined;
    }
    this.map.delete(key);
    this.map.set(key, e);
    return e.value;
  }

  /** `ttlMs` Infinity = until evicted. */
  set(key: string, value: V, ttlMs = Infinity, now = Date.now()): void {
    this.map.delete(key);
    this.map.set(key, { value, expiresAt: now + ttlMs });
    if (this.map.size > this.max) this.map.delete(this.map.keys().next().value!);
  }
}

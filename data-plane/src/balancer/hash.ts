/**
 * A 32-bit string hash for the consistent-hashing ring: FNV-1a over the UTF-16 code units, then
 * murmur3's finaliser so that similar keys (`10.0.0.1`, `10.0.0.2`) spread over the ring.
 * Deterministic across processes (every worker and every data plane maps a key to the same slot).
 */
export function hash32(value: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < value.length; i++) {
    h ^= value.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * Lower-case header names, remembered: the plugins of a route set the same few names (often
 * constants made once per instance) on every request, and a remembered name costs a map lookup
 * where `toLowerCase` allocates a new string each time. Bounded: short names only, and at most
 * MAX_NAMES of them (names made from request data cannot grow it past that; they are then
 * lower-cased as they come).
 */
const MAX_NAMES = 1024;
const MAX_NAME_LENGTH = 64;
const lowered = new Map<string, string>();

/** `name.toLowerCase()`, without allocating for a name seen before. */
export function lowerName(name: string): string {
  let lower = lowered.get(name);
  if (lower === undefined) {
    lower = name.toLowerCase();
    if (name.length <= MAX_NAME_LENGTH && lowered.size < MAX_NAMES) lowered.set(name, lower);
  }
  return lower;
}

/**
 * A bit per name length (length mod 32) of `names`: a header whose length has no bit set cannot
 * be one of them, so it is skipped without being lower-cased.
 */
export function lengthMask(names: Iterable<string>): number {
  let mask = 0;
  for (const name of names) mask |= 1 << (name.length & 31);
  return mask;
}

/** Whether `name`'s length is in `mask` (lengthMask). */
export function lengthIn(mask: number, name: string): boolean {
  return (mask & (1 << (name.length & 31))) !== 0;
}

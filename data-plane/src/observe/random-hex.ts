/**
 * Random lower-case hex ids from a pool: random bytes are drawn 4 KiB at a time (one getrandom)
 * and turned into hex in one call, so an id is a slice of that string (no allocation of bytes and
 * no native call per id). Request ids (exchange-facts.ts) and trace and span ids (tracing) come
 * from here.
 */
import { randomFillSync } from 'node:crypto';

const POOL_BYTES = 4096;
const bytes = Buffer.alloc(POOL_BYTES);
let hex = '';
let at = 0;

/** `digits` (even, at most 64) random hex digits. */
export function randomHex(digits: number): string {
  if (at + digits > hex.length) {
    randomFillSync(bytes);
    hex = bytes.toString('hex');
    at = 0;
  }
  const id = hex.slice(at, at + digits);
  at += digits;
  return id;
}

/** All-zero ids by length (an id is all zero exactly when it equals one: no regex per id). */
const ZEROS: readonly string[] = Array.from({ length: 65 }, (_, n) => '0'.repeat(n));

/** `digits` random hex digits, never all zero (a valid W3C trace or span id). */
export function randomNonZeroHex(digits: number): string {
  const zero = ZEROS[digits]!;
  let id = randomHex(digits);
  while (id === zero) id = randomHex(digits);
  return id;
}

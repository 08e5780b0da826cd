/**
 * A latency in milliseconds as the access log writes it: rounded to the microsecond, as JSON
 * number text — exactly `String(roundMs(ms))`, without turning a fractional double into text.
 *
 * V8 writes a fractional double with its shortest round-trip algorithm, after a lookup in its
 * number-to-string cache that a latency (a new value on every request) always misses; in the
 * proxy that cost the access log several microseconds per line for its three latencies (an
 * isolated loop over one request hid it: the same three values, always cached). Here the
 * microseconds are an integer: the whole milliseconds are a small integer's text and the
 * fraction comes from a table. The same text, since the double nearest to k/1000 reads back
 * as the k/1000 written with at most three decimals (ms-text.test.ts checks it).
 */
import { roundMs } from './exchange-facts.js';

/** After the point, for 0 … 999 thousandths: '' for 0, else '.' and the digits, trailing zeros cut. */
const FRACTIONS: readonly string[] = Array.from({ length: 1000 }, (_, n) =>
  n === 0 ? '' : '.' + String(n).padStart(3, '0').replace(/0+$/, ''),
);

/** Largest microsecond count written through the table (2^31 µs, about 36 minutes). */
const TABLE_MAX_US = 2 ** 31;

/** `String(roundMs(ms))`: -1 for a latency not reached (negative), else ms to three decimals. */
export function msText(ms: number): string {
  if (ms < 0) return '-1';
  const us = Math.round(ms * 1000);
  // NaN, huge values: the general path.
  if (!(us < TABLE_MAX_US)) return String(roundMs(ms));
  const whole = Math.floor(us / 1000);
  return whole + FRACTIONS[us - whole * 1000]!;
}

/**
 * A line of JSON written straight into bytes: UTF-8 in a buffer reused from line to line, so a
 * line is neither a chain of concatenated strings nor encoded again before it is written. The
 * access log builds every line here (access-log-line.ts) and hands the bytes to its writer
 * (line-writer.ts), which copies them into its batch.
 *
 * Why bytes: in the proxy, a line built by concatenation cost ~5 µs (a string per field, numbers
 * turned into strings, the join and the UTF-8 encoding of the batch), several times what an
 * isolated loop showed; written here, printable ASCII (nearly every value: methods, paths, hosts,
 * names, ids, numbers) goes through one loop of byte stores, and only a string that needs JSON
 * escaping or is not ASCII takes the general path (JSON.stringify, then UTF-8).
 */
import { roundMs } from './exchange-facts.js';

/** `s` (ASCII, as a constant part of a line) as bytes, once. */
export const asciiBytes = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0) & 0x7f);

/**
 * A constant part of a line (keys, punctuation), prepared to be written four bytes per store:
 * its bytes as little-endian 32-bit words, then the last 0–3 bytes. A JavaScript loop storing
 * bytes one by one took ~2.3 ns per byte, more than half of a line's time in the access log;
 * 32-bit stores through a DataView take under a nanosecond.
 */
export class Constant {
  readonly words: Uint32Array;
  readonly tail: Uint8Array;
  readonly length: number;

  constructor(text: string) {
    const bytes = asciiBytes(text);
    const n = bytes.length >> 2;
    this.words = new Uint32Array(n);
    for (let i = 0; i < n; i++)
      this.words[i] =
        (bytes[4 * i]! | (bytes[4 * i + 1]! << 8) | (bytes[4 * i + 2]! << 16) | (bytes[4 * i + 3]! << 24)) >>>
        0;
    this.tail = bytes.subarray(n * 4);
    this.length = bytes.length;
  }
}

/** After the point, for 0 … 999 thousandths: empty for 0, else '.' and the digits, trailing zeros cut. */
const FRACTIONS: readonly Uint8Array[] = Array.from({ length: 1000 }, (_, n) =>
  asciiBytes(n === 0 ? '' : '.' + String(n).padStart(3, '0').replace(/0+$/, '')),
);

/** Largest microsecond count written through the table (2^31 µs, about 36 minutes). */
const TABLE_MAX_US = 2 ** 31;

const NULL = asciiBytes('null');
const QUOTE = 0x22;

export class JsonLine {
  /** The bytes; valid up to `length`. Replaced by a larger one when a line outgrows it. */
  buf: Buffer = Buffer.allocUnsafe(2048);
  /** A view of `buf` for 32-bit stores. */
  private view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.length);
  /** Bytes written since `clear`. */
  length = 0;

  /** Starts a new line (the buffer is reused). */
  clear(): void {
    this.length = 0;
  }

  /** Makes room for `n` more bytes. */
  private room(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.length + n));
    this.buf.copy(bigger, 0, 0, this.length);
    this.buf = bigger;
    this.view = new DataView(bigger.buffer, bigger.byteOffset, bigger.length);
  }

  /** Bytes as they are (a constant part: keys, punctuation). */
  raw(bytes: Uint8Array): void {
    const n = bytes.length;
    this.room(n);
    const buf = this.buf;
    let at = this.length;
    for (let i = 0; i < n; i++) buf[at++] = bytes[i]!;
    this.length = at;
  }

  /** A constant part, four bytes per store. */
  constant(c: Constant): void {
    this.room(c.length);
    const view = this.view;
    const words = c.words;
    let at = this.length;
    for (let i = 0; i < words.length; i++) {
      view.setUint32(at, words[i]!, true);
      at += 4;
    }
    const tail = c.tail;
    const buf = this.buf;
    for (let i = 0; i < tail.length; i++) buf[at++] = tail[i]!;
    this.length = at;
  }

  /** `s` as it is, known to be printable ASCII with nothing to escape (hex ids, an ISO time). */
  ascii(s: string): void {
    const n = s.length;
    this.room(n);
    const buf = this.buf;
    let at = this.length;
    for (let i = 0; i < n; i++) buf[at++] = s.charCodeAt(i);
    this.length = at;
  }

  /** `s` as a JSON string literal (quoted, escaped as JSON requires, UTF-8). */
  string(s: string): void {
    const n = s.length;
    this.room(n + 2);
    const buf = this.buf;
    const start = this.length;
    let at = start;
    buf[at++] = QUOTE;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      // Control characters, '"', '\\' and everything past ASCII: the general path.
      if (c < 0x20 || c === 0x22 || c === 0x5c || c > 0x7e) {
        this.length = start;
        this.escaped(s);
        return;
      }
      buf[at++] = c;
    }
    buf[at++] = QUOTE;
    this.length = at;
  }

  /** `s` through JSON.stringify (escapes, lone surrogates as \uXXXX), then UTF-8. */
  private escaped(s: string): void {
    const text = JSON.stringify(s);
    this.room(text.length * 3);
    this.length += this.buf.write(text, this.length, 'utf8');
  }

  /** `s` as a JSON string, or null. */
  stringOrNull(s: string | null | undefined): void {
    if (s == null) this.raw(NULL);
    else this.string(s);
  }

  /** `n` as JSON number text (a non-negative safe integer by a digit loop; anything else as String does). */
  number(n: number): void {
    if (!(n >= 0 && n <= Number.MAX_SAFE_INTEGER && Math.floor(n) === n)) {
      this.ascii(String(n));
      return;
    }
    let digits = 1;
    for (let p = 10; p <= n; p *= 10) digits++;
    this.room(digits);
    const buf = this.buf;
    let at = this.length + digits;
    this.length = at;
    do {
      const digit = n % 10; // exact for any safe integer, as is (n - digit) / 10
      buf[--at] = 48 + digit;
      n = (n - digit) / 10;
    } while (n > 0);
  }

  /**
   * A latency in milliseconds, rounded to the microsecond: the text of `String(roundMs(ms))`
   * (-1 for one not reached), without turning a fractional double into text (V8's shortest
   * round-trip algorithm, after a number-to-string cache a new latency always misses): the whole
   * milliseconds as an integer, the fraction from a table. The same text, since the double nearest
   * to k/1000 reads back as the k/1000 written with at most three decimals (json-line.test.ts).
   */
  ms(ms: number): void {
    if (ms < 0) {
      this.ascii('-1');
      return;
    }
    const us = Math.round(ms * 1000);
    // NaN, huge values: the general path.
    if (!(us < TABLE_MAX_US)) {
      this.ascii(String(roundMs(ms)));
      return;
    }
    const whole = Math.floor(us / 1000);
    this.number(whole);
    this.raw(FRACTIONS[us - whole * 1000]!);
  }

  /** The line so far as text (tests, and callers that want a string). */
  text(): string {
    return this.buf.toString('utf8', 0, this.length);
  }
}

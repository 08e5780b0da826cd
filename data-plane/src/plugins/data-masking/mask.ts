/**
 * The three masking modes, as one function from a value to its masked string:
 * - `redact`: the configured redaction text;
 * - `hash`: hex HMAC-SHA-256 of the value under the configured secret — equal values give equal
 *   hashes, so masked records stay joinable, while the secret keeps a dictionary attack off;
 * - `partial`: every character but the last `keep_last` replaced by `*` (a value no longer than
 *   `keep_last` is masked whole, so a partial mask never shows a whole value).
 * Numbers and booleans are masked through their JSON text; the result is always a string.
 */
import { createHmac } from 'node:crypto';

export type Mode = 'redact' | 'hash' | 'partial';

export interface MaskOptions {
  readonly mode: Mode;
  readonly redaction: string;
  readonly hashSecret: string | null;
  readonly keepLast: number;
}

export function compileMask(o: MaskOptions): (value: string) => string {
  switch (o.mode) {
    case 'redact': {
      const r = o.redaction;
      return () => r;
    }
    case 'hash': {
      const secret = o.hashSecret ?? '';
      return (v) => createHmac('sha256', secret).update(v, 'utf8').digest('hex');
    }
    case 'partial': {
      const keep = o.keepLast;
      return (v) => {
        const chars = [...v];
        if (chars.length <= keep) return '*'.repeat(chars.length);
        return '*'.repeat(chars.length - keep) + chars.slice(chars.length - keep).join('');
      };
    }
  }
}

/**
 * A JSON value masked: scalars become their masked string, `null` stays `null`, containers keep
 * their shape with every scalar inside masked.
 */
export function maskValue(v: unknown, mask: (s: string) => string, depth = 0): unknown {
  if (v === null || v === undefined) return v;
  if (typeof v === 'string') return mask(v);
  if (typeof v === 'number' || typeof v === 'boolean') return mask(String(v));
  if (depth > 10_000) throw new RangeError('JSON nested too deeply to mask');
  if (Array.isArray(v)) return v.map((x) => maskValue(x, mask, depth + 1));
  const out = Object.create(null) as Record<string, unknown>;
  for (const k of Object.keys(v)) {
    Object.defineProperty(out, k, {
      value: maskValue((v as Record<string, unknown>)[k], mask, depth + 1),
      writable: true,
      enumerable: true,
      configurable: true,
    });
  }
  return out;
}

/** Kong's HMAC signing string and the parsing of `hmac username="…", algorithm="…", …`. */
import { createHmac } from 'node:crypto';

export interface HmacParams {
  username: string;
  algorithm: string;
  headers: string[];
  signature: string;
}

const FIELD = /(\w+)="([^"]*)"/g;

export function parseHmacAuthorization(value: string | undefined): HmacParams | null {
  if (value === undefined) return null;
  const m = /^\s*hmac\s+(.+)$/i.exec(value);
  if (m === null) return null;
  const fields: Record<string, string> = {};
  for (const f of m[1]!.matchAll(FIELD)) fields[f[1]!.toLowerCase()] = f[2]!;
  if (!fields.username || !fields.signature || !fields.algorithm) return null;
  return {
    username: fields.username,
    algorithm: fields.algorithm.toLowerCase(),
    headers: (fields.headers ?? 'date')
      .split(' ')
      .filter((h) => h !== '')
      .map((h) => h.toLowerCase()),
    signature: fields.signature,
  };
}

const DIGESTS: Record<string, string> = {
  'hmac-sha1': 'sha1',
  'hmac-sha256': 'sha256',
  'hmac-sha384': 'sha384',
  'hmac-sha512': 'sha512',
};

export interface SigningRequest {
  method: string;
  /** Path with query string, as sent. */
  target: string;
  header(name: string): string | undefined;
}

/** The signing string: one line per listed header (`request-line`, `@request-target` special). */
export function signingString(req: SigningRequest, headers: readonly string[]): string {
  const lines: string[] = [];
  for (const h of headers) {
    const v = req.header(h);
    if (v !== undefined) lines.push(`${h}: ${v}`);
    else if (h === 'request-line') lines.push(`${req.method} ${req.target} HTTP/1.1`);
    else if (h === '@request-target') lines.push(`${req.method.toLowerCase()} ${req.target}`);
    else lines.push(`${h}:`);
  }
  return lines.join('\n');
}

/** The signature bytes, or null for an unknown algorithm. */
export function sign(algorithm: string, secret: string, data: string): Buffer | null {
  const d = DIGESTS[algorithm];
  return d === undefined ? null : createHmac(d, secret).update(data).digest();
}

/**
 * Verifies a clear password against the stored scrypt hash (`$scrypt$N$r$p$salt$hash`) off the
 * event loop (node's threadpool), in constant time.
 */
import { scrypt, timingSafeEqual } from 'node:crypto';

const HASH_RE = /^\$scrypt\$(\d+)\$(\d+)\$(\d+)\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$/;

export function verifyPassword(password: string, stored: string): Promise<boolean> {
  const m = HASH_RE.exec(stored);
  if (m === null) return Promise.resolve(false);
  const [N, r, p] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const expected = Buffer.from(m[5]!, 'base64');
  return new Promise((resolve) => {
    scrypt(
      password,
      Buffer.from(m[4]!, 'base64'),
      expected.length,
      { N, r, p, maxmem: 256 * N * r + 1024 * 1024 },
      (err, actual) => {
        resolve(err === null && actual.length === expected.length && timingSafeEqual(actual, expected));
      },
    );
  });
}

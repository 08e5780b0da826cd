// The JWT the jwt bench candidate accepts: HS256, iss "bench-id", signed with "bench-secret".
// `node test/bench/bench-jwt.mjs` prints it; run the harness with API_KEY="Bearer <it>" so that
// every candidate (no plugin, key-auth, jwt) gets the same x-api-key header in the same run.
import { createHmac } from 'node:crypto';
import { fileURLToPath } from 'node:url';

export const BENCH_JWT_KEY = 'bench-id';
export const BENCH_JWT_SECRET = 'bench-secret';

export function benchJwt() {
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const input = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ iss: BENCH_JWT_KEY, sub: 'bench' })}`;
  return `${input}.${createHmac('sha256', BENCH_JWT_SECRET).update(input).digest('base64url')}`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) console.log(benchJwt());

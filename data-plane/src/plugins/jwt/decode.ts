/**
 * Splits and decodes a JWT as Kong's jwt parser does (kong/plugins/jwt/jwt_parser.lua,
 * `decode_token`), with its three "Bad token; …" reasons: `invalid JSON` (a header or claims
 * segment that is not base64url of JSON, or fewer than three segments), `invalid alg` (no
 * supported `alg` string in the header) and `invalid signature` (a signature segment that is not
 * base64url; as Kong, a fourth segment is part of the signature). The signature itself is
 * verified elsewhere.
 */
import { JWT_ALGORITHMS } from '@gatehouse/shared';

export type BadTokenReason = 'invalid JSON' | 'invalid alg' | 'invalid signature';

export interface DecodedToken {
  readonly header: Readonly<Record<string, unknown>>;
  /** The claims; a payload that is not a JSON object reads as having no claims. */
  readonly claims: Readonly<Record<string, unknown>>;
}

const ALGORITHMS: ReadonlySet<string> = new Set(JWT_ALGORITHMS);

/**
 * base64url as nginx decodes it for Kong (`ngx.base64.decode_base64url` after Kong pads): the
 * characters up to the first `=` must be base64url, and not one more than a multiple of four.
 */
function base64url(segment: string): Buffer | null {
  const eq = segment.indexOf('=');
  const data = eq < 0 ? segment : segment.slice(0, eq);
  if (data.length % 4 === 1 || /[^A-Za-z0-9_-]/.test(data)) return null;
  return Buffer.from(data, 'base64url');
}

function json(segment: string | undefined): { value: unknown } | null {
  if (segment === undefined) return null;
  const bytes = base64url(segment);
  if (bytes === null) return null;
  try {
    return { value: JSON.parse(bytes.toString('utf8')) as unknown };
  } catch {
    return null;
  }
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Decodes `token`, or says why Kong calls it a bad token. */
export function decodeToken(token: string): DecodedToken | BadTokenReason {
  const first = token.indexOf('.');
  const second = first < 0 ? -1 : token.indexOf('.', first + 1);
  const headerPart = first < 0 ? token : token.slice(0, first);
  const claimsPart =
    first < 0 ? undefined : second < 0 ? token.slice(first + 1) : token.slice(first + 1, second);
  const signaturePart = second < 0 ? undefined : token.slice(second + 1);
  const header = json(headerPart);
  const claims = json(claimsPart);
  if (header === null || claims === null || signaturePart === undefined) return 'invalid JSON';
  const alg = isObject(header.value) ? header.value.alg : undefined;
  if (typeof alg !== 'string' || !ALGORITHMS.has(alg)) return 'invalid alg';
  if (base64url(signaturePart) === null) return 'invalid signature';
  return {
    header: header.value as Record<string, unknown>,
    claims: isObject(claims.value) ? claims.value : {},
  };
}

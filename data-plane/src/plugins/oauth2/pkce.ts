/** PKCE (RFC 7636) as Kong's oauth2 plugin checks it: S256, or plain. */
import { createHash } from 'node:crypto';
import { safeEqual } from '../runtime/auth.js';

/** RFC 7636 §4.1: 43-128 characters of [A-Z a-z 0-9 - . _ ~]. */
const VERIFIER = /^[A-Za-z0-9._~-]{43,128}$/;

export type ChallengeMethod = 'S256' | 'plain';

/** The code_challenge_method of an authorize request: S256, plain (the default), or null when unknown. */
export function challengeMethod(value: string | undefined): ChallengeMethod | null {
  if (value === undefined || value === 'plain') return 'plain';
  return value === 'S256' ? 'S256' : null;
}

/** Does `verifier` answer `challenge` (constant time)? */
export function verifierMatches(verifier: string, challenge: string, method: ChallengeMethod): boolean {
  if (!VERIFIER.test(verifier)) return false;
  const computed = method === 'S256' ? createHash('sha256').update(verifier).digest('base64url') : verifier;
  return safeEqual(computed, challenge);
}

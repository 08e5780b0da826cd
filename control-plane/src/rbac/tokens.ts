/**
 * RBAC user tokens: generated, checked and hashed.
 *
 * A token is stored only as its SHA-256 digest, and a request's token is found by its digest
 * (an indexed, unique column). A fast unsalted hash is right here, unlike for passwords: tokens
 * are at least 16 characters and generated ones carry 256 random bits, so the digest cannot be
 * reversed by guessing, while a deterministic hash lets one indexed lookup authenticate each
 * Admin API request (a salted slow hash would need a scan or a second identifier, and cost
 * tens of milliseconds per request). Online guessing is limited by login throttling.
 */
import { createHash, randomBytes } from 'node:crypto';
import { adminTokenProblem } from '../admin/access-settings.js';

/** A new token: 32 random bytes, base64url (43 characters). */
export function generateToken(): string {
  return randomBytes(32).toString('base64url');
}

/** Why a token cannot be used (the admin token's rules: printable ASCII, at least 16 characters). */
export function tokenProblem(token: string): string | undefined {
  if (token.length > 1024) return 'must be at most 1024 characters';
  return adminTokenProblem(token);
}

/** The stored form of a token: hex SHA-256. */
export function tokenHash(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** What listings show to tell tokens apart: the digest's first 8 hex characters. */
export function tokenIdent(hash: string): string {
  return hash.slice(0, 8);
}

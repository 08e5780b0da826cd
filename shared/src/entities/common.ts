import { randomBytes } from 'node:crypto';

/** Drops the fields the store owns (id, timestamps) from a stored entity used as a PATCH base. */
export function stripReadOnly<T extends object>(entity: T): Record<string, unknown> {
  const { id: _id, created_at: _c, updated_at: _u, ...rest } = entity as Record<string, unknown>;
  return rest;
}

/** Kong's `utils.random_string()`: 32 lower-case hex characters. */
export function randomKey(): string {
  return randomBytes(16).toString('hex');
}

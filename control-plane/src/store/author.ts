/**
 * Who a config write is made for, carried through the async calls of one request (or job): the
 * store reads it when it bumps the config version and records it in the config history. The Admin
 * API binds it per request from `actorOf(req)` (admin/request-context.ts); a write with none bound
 * is the store's own default (`system` on the CP, `cli` for `gatehouse config` on the database).
 */
import { AsyncLocalStorage } from 'node:async_hooks';

const current = new AsyncLocalStorage<() => string>();

/** Runs `fn` with `author` (read lazily, at each write) as the author of the writes it makes. */
export function withAuthor<T>(author: () => string, fn: () => T): T {
  return current.run(author, fn);
}

/** The author bound to the running call, or undefined. */
export function boundAuthor(): string | undefined {
  return current.getStore()?.();
}

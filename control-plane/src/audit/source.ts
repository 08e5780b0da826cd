/**
 * Who, when and from where a configuration write comes: the audit source (the one request
 * context of the Admin API: the audit log and the config history's authors both read it). The Admin API sets it
 * once per request (audit/middleware.ts, from `actorOf(req)`, the client address and the request
 * id it assigns); `gatehouse config import` on the database sets a `cli` one. The store reads it
 * where it records entity changes (store/config-store.ts), so no repository signature carries it.
 * A write with no source (a rollout's automatic rollback, a job) is recorded as `system`.
 *
 * Carried in an AsyncLocalStorage: the Admin API enters it after the request body is read
 * (`enterAuditScope`), because a body parser's stream callbacks run outside the request's context.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomBytes } from 'node:crypto';

export interface AuditSource {
  /** Kong's 32-character request id (`X-Kong-Admin-Request-ID`), or one made for a CLI/system write. */
  readonly requestId: string;
  /** When the request arrived (the entries' `request_timestamp`). */
  readonly timestamp: Date;
  /** The client address (null for a CLI or system write). */
  readonly clientIp: string | null;
  /** The actor's name (`actorOf(req).name`, `cli`, `system`). */
  readonly actorName: string;
  readonly actorKind: string;
  /** `admin-api`, `cli` or `system`. */
  readonly source: 'admin-api' | 'cli' | 'system';
}

const storage = new AsyncLocalStorage<AuditSource>();

/** A new request id: 32 URL-safe characters, as Kong's admin request ids. */
export function newRequestId(): string {
  return randomBytes(24).toString('base64url');
}

/** The source of the write running now, or a fresh `system` one. */
export function currentAuditSource(): AuditSource {
  return (
    storage.getStore() ?? {
      requestId: newRequestId(),
      timestamp: new Date(),
      clientIp: null,
      actorName: 'system',
      actorKind: 'system',
      source: 'system',
    }
  );
}

/**
 * The source bound to the running call, or undefined (a job, a rollback, the CLI's own default).
 * The config history takes a version's author from it too (store/config-store.ts).
 */
export function boundAuditSource(): AuditSource | undefined {
  return storage.getStore();
}

/** Runs `fn` with `source` as the audit source of every write it makes. */
export function withAuditSource<T>(source: AuditSource, fn: () => T): T {
  return storage.run(source, fn);
}

/** A `cli` source (a `gatehouse config` command writing the database directly). */
export function cliAuditSource(user: string): AuditSource {
  return {
    requestId: newRequestId(),
    timestamp: new Date(),
    clientIp: null,
    actorName: user,
    actorKind: 'cli',
    source: 'cli',
  };
}

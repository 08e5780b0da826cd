/**
 * One `audit_requests` entry, appended to its chain in its own transaction (the Admin API's at the
 * end of a write request, a `gatehouse config import` on the database after its import).
 */
import type { PrismaClient } from '../generated/prisma/client.js';
import { appendToChain } from './chain.js';
import type { AuditSource } from './source.js';

export interface RequestEntry {
  method: string;
  path: string;
  /** Canonical JSON text with secrets redacted (middleware.ts `storedPayload`), or null. */
  payload: string | null;
  removed: readonly string[];
  status: number;
}

export async function recordRequest(
  prisma: PrismaClient,
  source: AuditSource,
  e: RequestEntry,
): Promise<void> {
  const row = {
    request_id: source.requestId,
    request_timestamp: source.timestamp,
    client_ip: source.clientIp,
    method: e.method,
    path: e.path,
    payload: e.payload,
    removed_from_payload: e.removed.length ? JSON.stringify(e.removed) : null,
    status: e.status,
    rbac_user_name: source.actorName,
    actor_kind: source.actorKind,
    request_source: source.source,
  };
  await prisma.$transaction((tx) => appendToChain(tx, 'audit_requests', [row]), {
    timeout: 60_000,
    maxWait: 30_000,
  });
}

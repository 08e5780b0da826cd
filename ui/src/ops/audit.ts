/**
 * The Audit log screen's facts (docs/admin-api.md, "audit log"): the two logs, the filters each
 * takes, and the path of a filtered first page. Later pages follow the answer's `next`.
 */
export const AUDIT_LOGS = ['requests', 'objects'] as const;
export type AuditLog = (typeof AUDIT_LOGS)[number];

/** The filters the screen offers for each log (a subset of what the API takes). */
export const AUDIT_FILTERS: Record<AuditLog, readonly string[]> = {
  requests: ['rbac_user_name', 'method', 'path', 'status', 'request_id'],
  objects: ['rbac_user_name', 'dao_name', 'operation', 'entity_key', 'request_id'],
};

export const AUDIT_PAGE_SIZE = 25;

export function isAuditLog(s: string | undefined): s is AuditLog {
  return (AUDIT_LOGS as readonly string[]).includes(s ?? '');
}

/** The first page's path: only the log's own filters, empty ones left out. */
export function auditPath(log: AuditLog, filters: Record<string, string>, size = AUDIT_PAGE_SIZE): string {
  const q = new URLSearchParams({ size: String(size) });
  for (const f of AUDIT_FILTERS[log]) {
    const v = filters[f]?.trim();
    if (v) q.set(f, v);
  }
  return `/audit/${log}?${q.toString()}`;
}

export interface AuditRequest {
  request_id: string;
  request_timestamp: number;
  client_ip: string | null;
  method: string;
  path: string;
  payload: string | null;
  status: number;
  rbac_user_name: string;
  request_source: string;
  seq: string;
}

export interface AuditObject {
  id: string;
  request_id: string;
  request_timestamp: number;
  rbac_user_name: string;
  dao_name: string;
  entity_key: string;
  operation: string;
  entity: string | null;
  before: string | null;
  seq: string;
}

/** A JSON text (an entry's payload or entity) indented to read; as it is when it is not JSON. */
export function prettyJson(text: string | null): string {
  if (text === null) return '';
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}

/**
 * Kong Enterprise's audit endpoints, read-only:
 *  - `GET /audit/requests`: the Admin API's write requests, newest first;
 *  - `GET /audit/objects`: the entity changes, newest first.
 * Filters: `before` (exclusive) and `after` (inclusive), each Unix seconds or RFC 3339 without
 * fractions (`2024-04-25T15:03:24Z`), as Kong's; exact matches on the fields listed below; paging
 * with `size` (1–1000, default 100) and the `offset` of the previous page (`{data, offset, next}`).
 * An unknown or repeated argument, or a bad value, is a 400 naming it. Every other method is 405:
 * no API alters or deletes an entry (only the retention job removes the oldest ones).
 */
import express, { type Request, type Router } from 'express';
import type { PrismaClient } from '../generated/prisma/client.js';
import { methodNotAllowed } from '../admin/errors.js';
import { NOT_UTF8, queryArgs } from '../admin/query-args.js';
import { invalidOption, parseSize } from '../store/index.js';
import { badOffset } from '../store/pagination.js';

type Where = Record<string, unknown>;

/** An exact-match filter: its column and how a value is read (null: refused with that message). */
interface Filter {
  parse(value: string): unknown;
}

const text: Filter = { parse: (v) => v };
const integer: Filter = {
  parse: (v) => (/^[1-5]\d\d$/.test(v) ? Number(v) : invalidValue('expected an HTTP status (100-599)')),
};
const oneOf = (values: readonly string[]): Filter => ({
  parse: (v) => (values.includes(v) ? v : invalidValue(`expected one of: ${values.join(', ')}`)),
});

class InvalidValue {
  constructor(readonly message: string) {}
}
const invalidValue = (message: string) => new InvalidValue(message);

const REQUEST_FILTERS: Record<string, Filter> = {
  request_id: text,
  method: text,
  path: text,
  status: integer,
  client_ip: text,
  rbac_user_name: text,
  request_source: oneOf(['admin-api', 'cli']),
};

const OBJECT_FILTERS: Record<string, Filter> = {
  request_id: text,
  dao_name: text,
  entity_key: text,
  operation: oneOf(['create', 'update', 'delete']),
  rbac_user_name: text,
};

const PAGING = new Set(['size', 'offset', 'before', 'after']);
const TIME = /^(\d{1,12}|\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z)$/;

/** Kong's `before`/`after`: Unix seconds or RFC 3339 (no fractions), a real instant. */
function parseTime(name: string, value: string): Date {
  if (!TIME.test(value))
    throw invalidOption(name, 'expected Unix seconds or an RFC 3339 time such as 2024-04-25T15:03:24Z');
  const date = /^\d+$/.test(value) ? new Date(Number(value) * 1000) : new Date(value);
  // `new Date` rolls 2024-02-30 over to March: the text must read back the same.
  if (
    Number.isNaN(date.getTime()) ||
    (!/^\d+$/.test(value) && date.toISOString().replace('.000Z', 'Z') !== value)
  )
    throw invalidOption(name, 'not a valid time');
  return date;
}

function decodeSeq(token: string): bigint {
  let seq: string | undefined;
  try {
    seq = Buffer.from(token, 'base64url').toString('utf8');
  } catch {
    seq = undefined;
  }
  if (!seq || !/^\d{1,19}$/.test(seq) || Buffer.from(seq).toString('base64url') !== token)
    throw badOffset(token, 'bad encoding');
  return BigInt(seq);
}

export interface AuditQuery {
  where: Where;
  size: number;
}

/** The Prisma query of a listing: filters, time window, page (400 naming a bad argument). */
export function auditQuery(url: string, filters: Record<string, Filter>): AuditQuery {
  const args = queryArgs(url);
  const where: Where = {};
  const timestamp: Where = {};
  let size = parseSize(undefined);
  for (const [name, values] of args) {
    if (!PAGING.has(name) && !Object.hasOwn(filters, name)) throw invalidOption(name, 'unknown argument');
    if (values.length !== 1) throw invalidOption(name, 'expected one value');
    const value = values[0]!;
    if (value === NOT_UTF8) throw invalidOption(name, 'invalid utf-8');
    if (value.includes('\u0000')) throw invalidOption(name, 'must not contain NUL characters');
    if (name === 'size') size = parseSize(value);
    else if (name === 'offset') where.seq = { lt: decodeSeq(value) };
    else if (name === 'before') timestamp.lt = parseTime(name, value);
    else if (name === 'after') timestamp.gte = parseTime(name, value);
    else {
      const parsed = filters[name]!.parse(value);
      if (parsed instanceof InvalidValue) throw invalidOption(name, parsed.message);
      where[name] = parsed;
    }
  }
  if (Object.keys(timestamp).length) where.request_timestamp = timestamp;
  return { where, size };
}

const seconds = (d: Date) => Math.floor(d.getTime() / 1000);

export interface AuditRouterOptions {
  prisma: PrismaClient;
  /** How long entries are kept (their `ttl`); 0: kept until removed by hand. */
  retentionMs: number;
}

/** `/audit/requests` and `/audit/objects`. */
export function createAuditRouter(o: AuditRouterOptions): Router {
  const router = express.Router();
  const ttl = (timestamp: Date) =>
    o.retentionMs > 0
      ? Math.max(0, Math.floor((timestamp.getTime() + o.retentionMs - Date.now()) / 1000))
      : null;
  const page = <T extends { seq: bigint }>(req: Request, rows: T[], size: number, map: (r: T) => unknown) => {
    const more = rows.length > size;
    const data = (more ? rows.slice(0, size) : rows).map(map);
    if (!more) return { data, next: null };
    const offset = Buffer.from(rows[size - 1]!.seq.toString()).toString('base64url');
    const args = new URLSearchParams();
    for (const [name, values] of queryArgs(req.originalUrl))
      if (name !== 'offset' && typeof values[0] === 'string') args.set(name, values[0]);
    args.set('offset', offset);
    return { data, offset, next: `${req.baseUrl}${req.path}?${args.toString()}` };
  };

  router
    .route('/audit/requests')
    .get(async (req, res) => {
      const { where, size } = auditQuery(req.originalUrl, REQUEST_FILTERS);
      const rows = await o.prisma.auditRequest.findMany({ where, orderBy: { seq: 'desc' }, take: size + 1 });
      res.json(
        page(req, rows, size, (r) => ({
          request_id: r.request_id,
          request_timestamp: seconds(r.request_timestamp),
          client_ip: r.client_ip,
          method: r.method,
          path: r.path,
          payload: r.payload,
          removed_from_payload: r.removed_from_payload,
          status: r.status,
          rbac_user_id: null,
          rbac_user_name: r.rbac_user_name,
          actor_kind: r.actor_kind,
          request_source: r.request_source,
          workspace: null,
          signature: null,
          ttl: ttl(r.request_timestamp),
          seq: r.seq.toString(),
          prev_hash: r.prev_hash,
          hash: r.hash,
        })),
      );
    })
    .all(methodNotAllowed);

  router
    .route('/audit/objects')
    .get(async (req, res) => {
      const { where, size } = auditQuery(req.originalUrl, OBJECT_FILTERS);
      const rows = await o.prisma.auditObject.findMany({ where, orderBy: { seq: 'desc' }, take: size + 1 });
      res.json(
        page(req, rows, size, (r) => ({
          id: r.id,
          request_id: r.request_id,
          request_timestamp: seconds(r.request_timestamp),
          client_ip: r.client_ip,
          rbac_user_id: null,
          rbac_user_name: r.rbac_user_name,
          dao_name: r.dao_name,
          entity_key: r.entity_key,
          operation: r.operation,
          entity: r.entity,
          before: r.before,
          workspace: null,
          signature: null,
          ttl: ttl(r.request_timestamp),
          expire: o.retentionMs > 0 ? r.request_timestamp.getTime() + o.retentionMs : null,
          seq: r.seq.toString(),
          prev_hash: r.prev_hash,
          hash: r.hash,
        })),
      );
    })
    .all(methodNotAllowed);
  return router;
}

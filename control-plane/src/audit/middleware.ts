/**
 * The Admin API's side of the audit log:
 *  - every request gets a request id, answered as Kong's `X-Kong-Admin-Request-ID` header;
 *  - every write request (POST, PUT, PATCH, DELETE: refused ones too, a 401 included) is recorded
 *    in `audit_requests` when its response ends: who (`actorOf(req)`, read then, so the access
 *    layer has run), when it arrived, the client address, method, path, the body with secrets
 *    redacted, and the status;
 *  - the request's audit source (source.ts) is entered for its handlers, so the entity changes the
 *    store records in the write's transaction carry the same request id, actor and address.
 *    `auditScope` re-enters it after a body parser (whose callbacks run outside the request's
 *    async context): it follows every body parser of the Admin API.
 */
import { createHash } from 'node:crypto';
import type { RequestHandler } from 'express';
import { canonicalJson, parseDeclarative, type Logger } from '@gatehouse/shared';
import type { PrismaClient } from '../generated/prisma/client.js';
import { actorOf } from '../admin/actor.js';
import type { AuditRedactor } from './redact.js';
import { recordRequest } from './requests.js';
import { newRequestId, withAuditSource, type AuditSource } from './source.js';

export const REQUEST_ID_HEADER = 'X-Kong-Admin-Request-ID';
/** Methods whose requests are recorded (reads are not: docs/security.md, "Audit log"). */
const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
/** A stored request body larger than this is replaced by its size and SHA-256. */
export const MAX_PAYLOAD_CHARS = 64 * 1024;

const sources = new WeakMap<object, AuditSource>();

/** Re-enters the request's audit source; mount right after a body parser. */
export const auditScope: RequestHandler = (req, _res, next) => {
  const source = sources.get(req);
  if (source) withAuditSource(source, next);
  else next();
};

const digest = (text: string) => createHash('sha256').update(text).digest('hex');

/** The body as stored: canonical JSON with secrets redacted, or a summary when it cannot be shown. */
export function storedPayload(
  body: unknown,
  redactor: AuditRedactor,
): { payload: string | null; removed: string[] } {
  if (body === undefined || body === null) return { payload: null, removed: [] };
  let value: unknown = body;
  if (typeof body === 'string') {
    if (body.trim() === '') return { payload: null, removed: [] };
    // A raw YAML/JSON document (POST /config): parsed so its secrets can be redacted; a body that
    // does not parse is never stored as text (it could hold secrets no rule can find).
    try {
      value = parseDeclarative(body);
    } catch {
      return {
        payload: canonicalJson({ unparsed: true, chars: body.length, sha256: digest(body) }),
        removed: [],
      };
    }
  }
  if (typeof value === 'object' && value !== null && Object.keys(value).length === 0)
    return { payload: null, removed: [] };
  const { payload, removed } = redactor.payload(value);
  const text = canonicalJson(payload);
  if (text.length <= MAX_PAYLOAD_CHARS) return { payload: text, removed };
  return { payload: canonicalJson({ truncated: true, chars: text.length, sha256: digest(text) }), removed };
}

export interface AuditRequestsOptions {
  prisma: PrismaClient;
  redactor: AuditRedactor;
  logger: Logger;
}

/** The first middleware of the Admin API: request id, audit source, the request's entry. */
export function auditRequests(o: AuditRequestsOptions): RequestHandler {
  return (req, res, next) => {
    const requestId = newRequestId();
    res.setHeader(REQUEST_ID_HEADER, requestId);
    const timestamp = new Date();
    const clientIp = req.socket.remoteAddress ?? null;
    const source: AuditSource = {
      requestId,
      timestamp,
      clientIp,
      get actorName() {
        return actorOf(req).name;
      },
      get actorKind() {
        return actorOf(req).kind;
      },
      source: 'admin-api',
    };
    sources.set(req, source);
    if (WRITE_METHODS.has(req.method)) {
      res.once('close', () => {
        const { payload, removed } = storedPayload(req.body, o.redactor);
        recordRequest(o.prisma, source, {
          method: req.method,
          path: req.originalUrl.split('?')[0] ?? '/',
          payload,
          removed,
          status: res.statusCode,
        }).catch((err: unknown) =>
          o.logger.error({ err, requestId }, 'could not record the Admin API request in the audit log'),
        );
      });
    }
    withAuditSource(source, next);
  };
}

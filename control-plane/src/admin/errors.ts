import type { ErrorRequestHandler, RequestHandler } from 'express';
import { defineError, isGatehouseError, kongErrorBody, type Logger } from '@gatehouse/shared';
import { allowedMethods, answerOptions } from './cors.js';

/** HTTP-level errors of the Admin API (bodies shaped as Kong's: `{ message }`). */
export const AdminErrors = {
  malformedBody: defineError('GH_ERR_ADMIN_MALFORMED_BODY', 400),
  unsupportedMediaType: defineError('GH_ERR_ADMIN_UNSUPPORTED_MEDIA_TYPE', 415),
  bodyTooLarge: defineError('GH_ERR_ADMIN_BODY_TOO_LARGE', 413),
  notFound: defineError('GH_ERR_ADMIN_NOT_FOUND', 404),
  methodNotAllowed: defineError('GH_ERR_ADMIN_METHOD_NOT_ALLOWED', 405),
  unauthorized: defineError('GH_ERR_ADMIN_UNAUTHORIZED', 401),
  originRefused: defineError('GH_ERR_ADMIN_ORIGIN_REFUSED', 403),
  hostRefused: defineError('GH_ERR_ADMIN_HOST_REFUSED', 403),
  invalidPath: defineError('GH_ERR_ADMIN_INVALID_PATH', 400),
  /** The database refused a value (Postgres class 22 "data exception", 54000 "too long for an index"). */
  invalidValue: defineError('GH_ERR_ADMIN_INVALID_VALUE', 400),
  /** Too many failed tokens from one client address (login throttling, login-throttle.ts). */
  tooManyFailures: defineError('GH_ERR_ADMIN_TOO_MANY_FAILURES', 429),
  /** The database cannot be reached (down, restarting, refusing connections): try again later. */
  databaseUnavailable: defineError('GH_ERR_ADMIN_DATABASE_UNAVAILABLE', 503),
} as const;

/** Seconds a client is told to wait before retrying a write the database could not take. */
export const DATABASE_RETRY_AFTER_SECONDS = 5;

/**
 * Codes that mean the database could not be reached, not that it refused the request: Postgres
 * class 08 (connection exception) and 57P01–57P03 (shutting down, cannot connect now), Prisma's
 * P1001/P1002/P1008/P1017 (unreachable, timed out, closed) and P2024 (no pooled connection), and
 * the socket errors of a server that went away.
 */
const UNAVAILABLE_CODES = new Set([
  'P1001',
  'P1002',
  'P1008',
  'P1017',
  'P2024',
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  '57P01',
  '57P02',
  '57P03',
]);
const UNAVAILABLE_MESSAGE =
  /Connection terminated|connect ECONNREFUSED|Can't reach database server|Server has closed the connection|is not currently accepting connections|the database system is (starting up|shutting down|in recovery mode)/i;

/** Whether `e` (or an error it wraps, a few levels down) says the database cannot be reached. */
export function isDatabaseUnavailable(e: unknown, depth = 0): boolean {
  if (depth > 6 || typeof e !== 'object' || e === null) return false;
  const x = e as {
    code?: unknown;
    originalCode?: unknown;
    message?: unknown;
    cause?: unknown;
    meta?: { driverAdapterError?: unknown };
  };
  for (const code of [x.code, x.originalCode])
    if (typeof code === 'string' && (UNAVAILABLE_CODES.has(code) || code.startsWith('08'))) return true;
  if (typeof x.message === 'string' && UNAVAILABLE_MESSAGE.test(x.message)) return true;
  return (
    isDatabaseUnavailable(x.cause, depth + 1) || isDatabaseUnavailable(x.meta?.driverAdapterError, depth + 1)
  );
}

/**
 * The Postgres SQLSTATE behind a Prisma driver-adapter error, if any (`@prisma/adapter-pg` and
 * `pglite-prisma-adapter` both carry it as `meta.driverAdapterError.cause.originalCode`).
 */
function postgresCode(e: unknown): string | undefined {
  const cause = (e as { meta?: { driverAdapterError?: { cause?: { originalCode?: unknown } } } } | null)?.meta
    ?.driverAdapterError?.cause;
  return typeof cause?.originalCode === 'string' ? cause.originalCode : undefined;
}

/**
 * The backstop behind the validators: a value the database refuses as data (class 22: a NUL
 * byte, a malformed UUID, a number out of range; 54000: an entry too long for an index) is the
 * client's input, answered 400, never 500. The validators should have refused it first: it is
 * logged as a warning so the gap gets closed.
 */
function fromDatabase(e: unknown, logger: Logger) {
  const code = postgresCode(e);
  if (code === undefined || !(code.startsWith('22') || code === '54000')) return undefined;
  logger.warn({ err: e, sqlstate: code }, 'the database refused a value the validators let through');
  return AdminErrors.invalidValue(
    code === '54000'
      ? 'invalid value: a value is too long to be stored'
      : 'invalid value: the database refused a value (check for NUL characters and malformed ids)',
    { sqlstate: code },
  );
}

/** body-parser's errors carry `type` and `status`; turn them into our typed errors. */
function fromBodyParser(e: unknown) {
  if (typeof e !== 'object' || e === null || !('type' in e)) return undefined;
  switch (e.type) {
    case 'entity.parse.failed':
      return AdminErrors.malformedBody('Cannot parse JSON body');
    case 'entity.too.large':
      return AdminErrors.bodyTooLarge('Request body too large');
    case 'charset.unsupported':
    case 'encoding.unsupported':
      return AdminErrors.unsupportedMediaType('Unsupported Content-Type');
    case 'request.aborted':
    case 'request.size.invalid':
    case 'stream.encoding.set':
      return AdminErrors.malformedBody('Cannot read request body');
    default:
      return undefined;
  }
}

function clientErrorStatus(e: unknown): number | undefined {
  if (typeof e !== 'object' || e === null) return undefined;
  const status =
    (e as { status?: unknown; statusCode?: unknown }).status ?? (e as { statusCode?: unknown }).statusCode;
  return typeof status === 'number' && status >= 400 && status < 500 ? status : undefined;
}

export const notFoundHandler: RequestHandler = () => {
  throw AdminErrors.notFound('Not found');
};

/**
 * The last handler of every Admin API route (`.all(methodNotAllowed)`): OPTIONS gets Kong's 204
 * with `Allow` and the CORS method and header lists; any other method the route lacks gets 405
 * with `Allow`. It is the only handler an OPTIONS reaches (a preflight needs no admin token).
 */
export const methodNotAllowed: RequestHandler = (req, res) => {
  if (req.method === 'OPTIONS') {
    answerOptions(req, res);
    return;
  }
  res.setHeader('Allow', allowedMethods(req.route));
  throw AdminErrors.methodNotAllowed('Method not allowed');
};

/** The one place Admin API errors become responses. Unknown errors are logged and answered with 500. */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err: unknown, req, res, next) => {
    if (res.headersSent) {
      next(err);
      return;
    }
    if (!isGatehouseError(err) && isDatabaseUnavailable(err)) {
      logger.error(
        { err, method: req.method, url: req.originalUrl },
        'admin request failed: database unavailable',
      );
      res.setHeader('Retry-After', String(DATABASE_RETRY_AFTER_SECONDS));
      const e = AdminErrors.databaseUnavailable('The database is unavailable; try again later');
      res.status(e.status).json(kongErrorBody(e) ?? { message: e.message });
      return;
    }
    const e = fromBodyParser(err) ?? fromDatabase(err, logger) ?? err;
    const body = kongErrorBody(e);
    if (isGatehouseError(e)) {
      if (e.status >= 500)
        logger.error({ err: e, method: req.method, url: req.originalUrl }, 'admin request failed');
      res.status(e.status).json(body ?? { message: e.message });
      return;
    }
    const status = clientErrorStatus(e);
    if (status !== undefined) {
      // express/router's own 4xx (e.g. a path parameter that is not valid percent-encoding)
      res.status(status).json({ message: status === 400 ? 'Bad request' : (e as Error).message });
      return;
    }
    logger.error({ err: e, method: req.method, url: req.originalUrl }, 'admin request failed');
    res.status(500).json({ message: 'An unexpected error occurred' });
  };
}

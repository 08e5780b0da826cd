import type { ErrorRequestHandler, RequestHandler } from 'express';
import { defineError, isGatehouseError, kongErrorBody, type Logger } from '@gatehouse/shared';

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
} as const;

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

export const methodNotAllowed: RequestHandler = () => {
  throw AdminErrors.methodNotAllowed('Method not allowed');
};

/** The one place Admin API errors become responses. Unknown errors are logged and answered with 500. */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err: unknown, req, res, next) => {
    if (res.headersSent) {
      next(err);
      return;
    }
    const e = fromBodyParser(err) ?? err;
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

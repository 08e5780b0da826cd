import express, { type Request, type RequestHandler } from 'express';
import { coerceFormInput, type FormInput, type Specs } from '@gatehouse/shared';
import { AdminErrors } from './errors.js';
import { checkBody } from './input-guard.js';

/**
 * Body parsing as Kong's Admin API does it: JSON or form-urlencoded; another content type with a
 * body is refused with 415. A request without a body reads as `{}`. The parsed body then passes
 * the input policy (`checkBody`).
 */
export function bodyParsers(limit: string | number): RequestHandler[] {
  const json = express.json({ limit, type: ['application/json', 'application/*+json'] });
  const form = express.urlencoded({ limit, extended: false, parameterLimit: 1000 });
  const checkType: RequestHandler = (req, _res, next) => {
    if (!['POST', 'PUT', 'PATCH'].includes(req.method)) return next();
    const length = req.headers['content-length'];
    const hasBody =
      req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
    if (!hasBody) return next();
    if (!req.is(['application/json', 'application/*+json', 'application/x-www-form-urlencoded'])) {
      return next(AdminErrors.unsupportedMediaType('Unsupported Content-Type'));
    }
    next();
  };
  return [checkType, json, form, checkBody];
}

/** The request body as the validators expect it (form values coerced with the entity's field kinds). */
export function entityBody(req: Request, schema: Specs): unknown {
  const body: unknown = req.body;
  if (body === undefined) return {};
  if (req.is('application/x-www-form-urlencoded')) return coerceFormInput(body as FormInput, schema);
  return body;
}

import type { RequestHandler } from 'express';
import {
  inputProblems,
  inputViolation,
  isForbiddenKey,
  NUL_MESSAGE,
  UNKNOWN_FIELD,
  type InputProblem,
} from '@gatehouse/shared';
import { invalidOption } from '../store/index.js';
import { AdminErrors } from './errors.js';
import { isFormBody } from './media-type.js';

/**
 * The Admin API's input policy (docs/security.md, "Admin API input"), applied before any handler
 * reads a request: `inputProblems` (no `__proto__`/`constructor`/`prototype` key, no NUL
 * character, bounded nesting) over the query string and the body, and no NUL in the path. Each
 * refusal is a 400 naming what is wrong. Declarative documents (`/config`) are checked the same
 * way by the resolver, which names the document path.
 */

/**
 * A form or query key's segments (`config.headers[0]` -> config, headers, 0): each is checked as
 * a key, since a nested-key parser would make each one a property.
 */
const keySegmentProblems = (flat: Record<string, unknown>): InputProblem[] =>
  Object.keys(flat)
    .filter((key) => key.split(/[.[\]]+/).some(isForbiddenKey))
    .map((key) => ({ path: [key], message: UNKNOWN_FIELD }));

/** `GET /services/%00`, `?tags=%00`, `?__proto__=x`: refused before routing. */
export const checkRequestTarget: RequestHandler = (req, _res, next) => {
  if (/%00/.test(req.path)) return next(AdminErrors.invalidPath(`invalid path: ${NUL_MESSAGE}`));
  const query = req.query as Record<string, unknown>;
  const problem = keySegmentProblems(query)[0] ?? inputProblems(query, { limit: 1 })[0];
  if (problem) {
    const name = String(problem.path[0] ?? '');
    return next(invalidOption(name, problem.message));
  }
  next();
};

/** After the body parsers: the parsed body (JSON or form) under the same policy. */
export const checkBody: RequestHandler = (req, _res, next) => {
  const body: unknown = req.body;
  if (body === undefined || body === null || typeof body !== 'object') return next();
  const problems = [
    ...(isFormBody(req) ? keySegmentProblems(body as Record<string, unknown>) : []),
    ...inputProblems(body),
  ];
  if (problems.length > 0) return next(inputViolation(problems));
  next();
};

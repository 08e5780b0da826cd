/**
 * Kong's CORS and OPTIONS answers on the Admin API (kong/api/api_helpers.lua: `cors_filter`,
 * `options_method`). Which origins are allowed is access.ts's decision; this module only writes
 * the headers.
 */
import type { Request, Response } from 'express';

/**
 * `Allow` for an Express route, as Kong lists it: the route's methods, HEAD with GET, and
 * OPTIONS, sorted (`DELETE, GET, HEAD, OPTIONS, PATCH, PUT`). `.all()` handlers are not methods.
 */
export function allowedMethods(route: unknown): string {
  const table = (route as { methods?: Record<string, boolean> } | undefined)?.methods ?? {};
  const methods = new Set<string>(['OPTIONS']);
  for (const [name, on] of Object.entries(table)) {
    if (name === '_all' || !on) continue;
    methods.add(name.toUpperCase());
    if (name === 'get') methods.add('HEAD');
  }
  return [...methods].sort().join(', ');
}

/** A browser's CORS preflight: OPTIONS with `Origin` and `Access-Control-Request-Method`. */
export function isPreflight(req: Request): boolean {
  return (
    req.method === 'OPTIONS' &&
    typeof req.headers.origin === 'string' &&
    req.headers['access-control-request-method'] !== undefined
  );
}

/** Kong's CORS headers for an allowed origin, on every answer (errors included). */
export function allowOrigin(res: Response, origin: string): void {
  res.setHeader('Access-Control-Allow-Origin', origin);
  res.setHeader('Access-Control-Allow-Credentials', 'true');
}

/**
 * Kong's answer to OPTIONS on a route: 204, `Allow` and `Access-Control-Allow-Methods` the
 * route's methods, `Access-Control-Allow-Headers` the request's `Access-Control-Request-Headers`
 * (else `Content-Type`). Nothing else runs for an OPTIONS.
 */
export function answerOptions(req: Request, res: Response): void {
  const allow = allowedMethods(req.route);
  const requested = req.headers['access-control-request-headers'];
  res.setHeader('Allow', allow);
  res.setHeader('Access-Control-Allow-Methods', allow);
  res.setHeader(
    'Access-Control-Allow-Headers',
    typeof requested === 'string' && requested.trim() !== '' ? requested : 'Content-Type',
  );
  res.status(204).end();
}

/**
 * The parameters of an oauth2 endpoint request as Kong reads them (`retrieve_parameters`): the
 * query arguments, merged with the body's (form or JSON) for POST, PUT and PATCH. A parameter
 * given more than once, or not a string, reads as absent. The record has no prototype.
 */
import type { PluginContext } from '../api.js';
import { parseBody } from '../runtime/auth.js';

export type Params = Readonly<Record<string, string | undefined>>;

const MAX_PARAMS = 100;

function add(out: Record<string, string | undefined>, seen: Set<string>, key: string, value: unknown): void {
  if (seen.size >= MAX_PARAMS && !seen.has(key)) return;
  if (seen.has(key) || typeof value !== 'string') {
    out[key] = undefined;
  } else {
    out[key] = value;
  }
  seen.add(key);
}

export async function readParams(ctx: PluginContext, bodyLimit: number | undefined): Promise<Params> {
  const out: Record<string, string | undefined> = Object.create(null) as Record<string, string | undefined>;
  const fromQuery = new Set<string>();
  if (ctx.request.rawQuery !== '') {
    for (const [k, v] of ctx.request.query) add(out, fromQuery, k, v);
  }
  const m = ctx.request.method;
  const type = ctx.request.header('content-type')?.toLowerCase() ?? '';
  // Only a form or JSON body can hold parameters: any other body is never read (nor buffered).
  const parameterBody =
    type.startsWith('application/x-www-form-urlencoded') || type.startsWith('application/json');
  if ((m === 'POST' || m === 'PUT' || m === 'PATCH') && parameterBody) {
    const body = parseBody(type, await ctx.request.body(bodyLimit));
    if (body !== null) {
      const fromBody = new Set<string>();
      // Kong's kong.table.merge: the body's value wins over the query's.
      for (const k of Object.keys(body)) add(out, fromBody, k, body[k]);
    }
  }
  return out;
}

/** `client_id`/`client_secret` from the parameters, else from `Basic` in the auth header (Kong's order). */
export function clientCredentials(
  params: Params,
  authorization: string | undefined,
): { id: string | undefined; secret: string | undefined; fromHeader: boolean } {
  if (params.client_id !== undefined && params.client_secret !== undefined)
    return { id: params.client_id, secret: params.client_secret, fromHeader: false };
  if (authorization === undefined) return { id: params.client_id, secret: undefined, fromHeader: false };
  const m = /^\s*[Bb]asic\s*(\S+)/.exec(authorization);
  if (m === null) return { id: undefined, secret: undefined, fromHeader: true };
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0
    ? { id: decoded, secret: undefined, fromHeader: true }
    : { id: decoded.slice(0, colon), secret: decoded.slice(colon + 1), fromHeader: true };
}

/** Bearer tokens (RFC 6750): the Authorization header, or `access_token` in the query string. */
import type { PluginContext } from '../api.js';

const BEARER = /^\s*bearer\s+(\S+)\s*$/i;

export interface FoundToken {
  token: string;
  where: 'header' | 'query';
}

export function findBearer(ctx: PluginContext, inHeader: boolean, inQuery: boolean): FoundToken | null {
  if (inHeader) {
    const a = ctx.request.header('authorization');
    const m = a === undefined ? null : BEARER.exec(a);
    if (m !== null) return { token: m[1]!, where: 'header' };
  }
  if (inQuery && ctx.request.rawQuery !== '') {
    const q = ctx.request.query.get('access_token');
    if (q !== null) ctx.credentialInQuery('access_token');
    if (q !== null && q !== '') return { token: q, where: 'query' };
  }
  return null;
}

export function hideBearer(ctx: PluginContext, found: FoundToken): void {
  if (found.where === 'header') ctx.removeUpstreamHeader('authorization');
  else ctx.removeUpstreamQueryArg('access_token');
}

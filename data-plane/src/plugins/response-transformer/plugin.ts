/**
 * response-transformer (Kong priority 800, response phase): changes the response headers
 * (remove, rename, replace, add, append, in that order, Kong's header_transformer.lua) and, for
 * a JSON response (`application/json` or a `+json` subtype), the top-level properties of its
 * JSON body (json-body.ts). The body is buffered only when a JSON rule exists and the response
 * is JSON and not content-encoded (a gzip body would not parse: Kong leaves it as it is too);
 * a body over the runtime's buffer limit, or that does not parse, is sent unchanged.
 */
import { definePlugin, type PluginContext, type ResponseHead } from '../api.js';
import { splitPair } from '../request-transformer/schema.js';
import { castValue, transformJsonBody, type JsonRule, type JsonRules } from './json-body.js';
import { responseTransformerSpec, type ResponseTransformerConfig } from './schema.js';

interface Pair {
  readonly name: string;
  readonly value: string;
}

interface State {
  readonly headers: {
    readonly remove: readonly string[];
    readonly rename: readonly Pair[];
    readonly replace: readonly Pair[];
    readonly add: readonly Pair[];
    readonly append: readonly Pair[];
  };
  /** The JSON rules, or null when there is none (the body is never buffered). */
  readonly json: JsonRules | null;
}

const pairs = (entries: readonly string[]): Pair[] => entries.map(splitPair);

function jsonRules(entries: readonly string[], types: readonly string[]): JsonRule[] {
  return entries.map((e, i) => {
    const { name, value } = splitPair(e);
    return { name, value: castValue(value, types[i]) };
  });
}

/** Kong's is_json_body: one of the (comma-separated) media types is application/json or application/*+json. */
export function isJsonType(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  for (const ct of contentType.split(',')) {
    const m = /^\s*([^/\s;]+)\/([^\s;]+)/.exec(ct);
    if (m === null) continue;
    const type = m[1]!.toLowerCase();
    const subtype = m[2]!.toLowerCase();
    if (type === 'application' && (subtype === 'json' || subtype.endsWith('+json'))) return true;
  }
  return false;
}

function encoded(head: ResponseHead): boolean {
  const ce = head.header('content-encoding');
  return ce !== undefined && ce.trim() !== '' && ce.trim().toLowerCase() !== 'identity';
}

function transformHeaders(ctx: PluginContext, s: State['headers']): void {
  const res = ctx.response!;
  // Kong reads the headers once, before changing them: later rules see the upstream's.
  const before = new Map<string, string[]>();
  const had = (name: string): string[] => {
    const lower = name.toLowerCase();
    let v = before.get(lower);
    if (v === undefined) before.set(lower, (v = res.headerValues(lower)));
    return v;
  };
  for (const p of [...s.rename, ...s.replace, ...s.add]) had(p.name);
  for (const name of s.remove) ctx.removeResponseHeader(name);
  for (const { name, value } of s.rename) {
    const values = had(name);
    if (values.length > 0 && value !== '') {
      ctx.setResponseHeader(value, values.length === 1 ? values[0]! : values);
      if (value.toLowerCase() !== name.toLowerCase()) ctx.removeResponseHeader(name);
    }
  }
  for (const { name, value } of s.replace)
    if (had(name).length > 0 && value !== '') ctx.setResponseHeader(name, value);
  for (const { name, value } of s.add)
    if (had(name).length === 0 && value !== '') ctx.setResponseHeader(name, value);
  for (const { name, value } of s.append)
    if (value !== '') ctx.setResponseHeader(name, [...res.headerValues(name), value]);
}

export default definePlugin({
  ...responseTransformerSpec,
  init(config: ResponseTransformerConfig): State {
    const c = config;
    const json: JsonRules = {
      allow: c.allow.json.length === 0 ? null : new Set(c.allow.json),
      remove: c.remove.json,
      rename: pairs(c.rename.json).map((p) => ({ from: p.name, to: p.value })),
      replace: jsonRules(c.replace.json, c.replace.json_types),
      add: jsonRules(c.add.json, c.add.json_types),
      append: jsonRules(c.append.json, c.append.json_types),
    };
    const anyJson =
      json.allow !== null ||
      json.remove.length + json.rename.length + json.replace.length + json.add.length + json.append.length >
        0;
    return {
      headers: {
        remove: c.remove.headers,
        rename: pairs(c.rename.headers),
        replace: pairs(c.replace.headers),
        add: pairs(c.add.headers),
        append: pairs(c.append.headers),
      },
      json: anyJson ? json : null,
    };
  },
  bufferResponse: (state, head) =>
    state.json !== null && isJsonType(head.header('content-type')) && !encoded(head),
  response(ctx, state) {
    const res = ctx.response!;
    transformHeaders(ctx, state.headers);
    if (state.json === null || res.body === null || !isJsonType(res.header('content-type'))) return;
    const body = transformJsonBody(res.body, state.json);
    if (body === null) ctx.log.warn('response-transformer: body transform failed: failed parsing json body');
    else ctx.setResponseBody(body);
  },
});

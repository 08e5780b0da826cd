/**
 * request-transformer (Kong priority 801, access phase): rewrites the request before it goes
 * upstream, in Kong's order — replace.uri, http_method, headers, body, query string — and within
 * each, remove, rename, replace, add, append. Values may be templates (template.ts), rendered from
 * the request as the client sent it. The body is read only when a body rule exists and the
 * Content-Type is JSON, form-urlencoded or multipart (or http_method turns a form POST into a
 * GET); otherwise it streams untouched.
 */
import { definePlugin, type PluginContext } from '../api.js';
import { headerByConfiguredName } from '../runtime/kong-headers.js';
import { appendValue, argText, encodeQuery, parseArgs, type Args } from './args.js';
import {
  bodyKind,
  transformForm,
  transformJson,
  transformMultipart,
  type BodyRules,
  type Rendered,
} from './body.js';
import { requestTransformerSpec, splitPair, type RequestTransformerConfig } from './schema.js';
import { compileTemplate, type Source, type Template, type TemplateEnv } from './template.js';

/**
 * The most of a request body the plugin reads to transform it (8 MiB). A body declared larger
 * (Content-Length) streams upstream untransformed; a chunked body that grows past it is answered
 * 413 by the runtime.
 */
export const TRANSFORM_BODY_LIMIT = 8 * 1024 * 1024;

/** A `name:value` rule with its value compiled. */
interface Rule {
  readonly name: string;
  readonly value: Template;
}

interface Section {
  readonly remove: readonly string[];
  readonly rename: readonly Rule[];
  readonly replace: readonly Rule[];
  readonly add: readonly Rule[];
  readonly append: readonly Rule[];
}

interface State {
  readonly method: string | null;
  readonly uri: Template | null;
  readonly headers: Section | null;
  readonly query: Section | null;
  readonly body: Section | null;
}

type Part = 'headers' | 'querystring' | 'body';

const rules = (entries: readonly string[]): Rule[] =>
  entries.map((e) => {
    const { name, value } = splitPair(e);
    return { name, value: compileTemplate(value) };
  });

function section(config: RequestTransformerConfig, part: Part): Section | null {
  const s: Section = {
    remove: config.remove[part].map((e) => splitPair(e).name),
    rename: rules(config.rename[part]),
    replace: rules(config.replace[part]),
    add: rules(config.add[part]),
    append: rules(config.append[part]),
  };
  const empty = s.remove.length + s.rename.length + s.replace.length + s.add.length + s.append.length === 0;
  return empty ? null : s;
}

/** Header values a client may not smuggle into a header (CR, LF, NUL and other controls). */
const BAD_HEADER_VALUE = /[^\t\x20-\x7e\x80-\xff]/;

/** The request as templates read it: the client's headers, query and captures, kong.ctx.shared. */
class Env implements TemplateEnv {
  private query: Args | null = null;
  constructor(private readonly ctx: PluginContext) {}

  lookup(source: Source, key: string): string | undefined {
    const r = this.ctx.request;
    switch (source) {
      case 'headers': {
        const values = headerByConfiguredName(r, key).values;
        return values.length === 0 ? undefined : values.join(', ');
      }
      case 'query_params':
        return argText((this.query ??= parseArgs(r.rawQuery)).get(key));
      case 'uri_captures':
        return Object.hasOwn(r.uriCaptures, key) ? r.uriCaptures[key] : undefined;
      case 'shared': {
        const shared = this.ctx.shared;
        const v = Object.hasOwn(shared, key) ? shared[key] : undefined;
        return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean'
          ? String(v)
          : undefined;
      }
    }
  }
}

const render = (list: readonly Rule[], env: Env): Rendered[] =>
  list.map((r) => ({ name: r.name, value: r.value.constant ? r.value.source : r.value.render(env) }));

/**
 * The header changes (Kong's transform_headers) as lower-case name -> values (empty: removed).
 * Returns the name of a header whose rendered value is not a valid header value, else null.
 */
function transformHeaders(ctx: PluginContext, s: Section, env: Env): string | null {
  const current = new Map<string, { name: string; values: string[]; changed: boolean }>();
  const get = (name: string) => {
    const lower = name.toLowerCase();
    let entry = current.get(lower);
    if (entry === undefined)
      current.set(lower, (entry = { name, values: ctx.request.headerValues(lower), changed: false }));
    return entry;
  };
  const set = (name: string, values: string[]) => {
    const h = get(name);
    h.values = values;
    h.changed = true;
  };
  for (const name of s.remove) {
    if (name.toLowerCase() !== 'host' && get(name).values.length > 0) set(name, []);
  }
  for (const { name, value } of render(s.rename, env)) {
    if (name.toLowerCase() === 'host' || value.toLowerCase() === 'host') continue;
    const values = get(name).values;
    if (values.length === 0) continue;
    set(name, []);
    set(value, values);
  }
  for (const { name, value } of render(s.replace, env)) {
    if (get(name).values.length > 0 || name.toLowerCase() === 'host') set(name, [value]);
  }
  for (const { name, value } of render(s.add, env)) {
    if (name.toLowerCase() !== 'host' && get(name).values.length === 0) set(name, [value]);
  }
  for (const { name, value } of render(s.append, env)) {
    if (name.toLowerCase() !== 'host') set(name, [...get(name).values, value]);
  }
  for (const [lower, { name, values, changed }] of current) {
    if (!changed) continue;
    if (values.some((v) => BAD_HEADER_VALUE.test(v))) return name;
    if (values.length === 0) ctx.removeUpstreamHeader(lower);
    else ctx.setUpstreamHeader(lower, values.length === 1 ? values[0]! : values);
  }
  return null;
}

/** Kong's transform_querystrings over `args` (changed in place). */
function transformQuery(args: Args, s: Section, env: Env): void {
  for (const name of s.remove) args.delete(name);
  for (const { name, value } of render(s.rename, env)) {
    const v = args.get(name);
    if (name !== value && v !== undefined) {
      args.delete(name);
      args.set(value, v);
    }
  }
  for (const { name, value } of render(s.replace, env)) if (args.has(name)) args.set(name, value);
  for (const { name, value } of render(s.add, env)) if (!args.has(name)) args.set(name, value);
  for (const { name, value } of render(s.append, env)) args.set(name, appendValue(args.get(name), value));
}

/** http_method GET/HEAD/TRACE on a form body: its arguments join the query string (Kong). */
function mergeFormIntoQuery(args: Args, form: Args): void {
  for (const [name, value] of form) {
    const current = args.get(name);
    if (current === undefined) {
      args.set(name, value);
      continue;
    }
    const add = value === true ? [] : typeof value === 'string' ? [value] : value;
    let merged: string[] | true = typeof current === 'string' ? [current] : current === true ? [] : current;
    for (const v of add) merged = appendValue(merged, v);
    args.set(name, merged);
  }
}

function bodyRules(s: Section, env: Env): BodyRules {
  return {
    remove: s.remove,
    rename: render(s.rename, env),
    replace: render(s.replace, env),
    add: render(s.add, env),
    append: render(s.append, env),
  };
}

/** The body may be read: no declared length over the limit. */
function readable(ctx: PluginContext): boolean {
  const length = ctx.request.header('content-length');
  if (length !== undefined && Number(length) > TRANSFORM_BODY_LIMIT) {
    ctx.log.warn(
      { limit: TRANSFORM_BODY_LIMIT },
      'request-transformer: body larger than the limit, not transformed',
    );
    return false;
  }
  return true;
}

async function withBody(ctx: PluginContext, state: State, env: Env, mergeForm: boolean): Promise<void> {
  const contentType = ctx.request.header('content-type') ?? '';
  const kind = bodyKind(contentType);
  const body = await ctx.request.body(TRANSFORM_BODY_LIMIT);
  let query: Args | null = null;
  if (mergeForm) {
    const form = parseArgs(body.toString('utf8'));
    if (form.size > 0) mergeFormIntoQuery((query = parseArgs(ctx.request.rawQuery)), form);
  }
  if (state.body !== null && kind !== null) {
    const r = bodyRules(state.body, env);
    const out =
      kind === 'json'
        ? transformJson(body, r)
        : kind === 'form'
          ? transformForm(body, r)
          : transformMultipart(body, contentType, r);
    if (out !== null) ctx.setUpstreamBody(out);
  }
  finishQuery(ctx, state, env, query);
}

function finishQuery(ctx: PluginContext, state: State, env: Env, merged: Args | null): void {
  if (state.query === null && merged === null) return;
  const args = merged ?? parseArgs(ctx.request.rawQuery);
  if (state.query !== null) transformQuery(args, state.query, env);
  ctx.setUpstreamQuery(encodeQuery(args));
}

export default definePlugin({
  ...requestTransformerSpec,
  init(config): State {
    return {
      method: config.http_method,
      uri: config.replace.uri === null ? null : compileTemplate(config.replace.uri),
      headers: section(config, 'headers'),
      query: section(config, 'querystring'),
      body: section(config, 'body'),
    };
  },
  access(ctx, state) {
    const env = new Env(ctx);
    if (state.uri !== null) {
      const path = state.uri.render(env);
      if (path !== '') ctx.setUpstreamPath(path.startsWith('/') ? path : `/${path}`);
    }
    let mergeForm = false;
    if (state.method !== null) {
      ctx.setUpstreamMethod(state.method);
      mergeForm =
        (state.method === 'GET' || state.method === 'HEAD' || state.method === 'TRACE') &&
        bodyKind(ctx.request.header('content-type')) === 'form';
    }
    if (state.headers !== null) {
      const bad = transformHeaders(ctx, state.headers, env);
      if (bad !== null) {
        ctx.respond(400, `Invalid value for header '${bad}'`);
        return;
      }
    }
    const bodyWanted = state.body !== null && bodyKind(ctx.request.header('content-type')) !== null;
    if ((bodyWanted || mergeForm) && readable(ctx)) return withBody(ctx, state, env, mergeForm);
    finishQuery(ctx, state, env, null);
  },
});

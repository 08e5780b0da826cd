/**
 * request-validator (Kong Enterprise, priority 999): validates the parameters (path captures,
 * query arguments, headers) and the JSON body of a request against JSON Schema draft 4 schemas
 * compiled once per snapshot (Ajv, hardened: see json-schema.ts), and answers 400 when one does not
 * conform: `request param doesn't conform to schema`, `specified Content-Type is not allowed`,
 * `request body doesn't conform to schema` — or, with `verbose_response`, what failed and where.
 * Parameters are checked first, then the Content-Type, then the body (read with a cap).
 */
import type { ValidateFunction } from 'ajv';
import { definePlugin, type PluginContext } from '../api.js';
import { compileSchema, describeError } from './json-schema.js';
import { isJson, mediaTypeAllowed, parseMediaType, type MediaType } from './content-type.js';
import { compileParameter, type CompiledParameter } from './parameters.js';
import { requestValidatorSpec } from './schema.js';

export const PARAM_MESSAGE = "request param doesn't conform to schema";
export const BODY_MESSAGE = "request body doesn't conform to schema";
export const CONTENT_TYPE_MESSAGE = 'specified Content-Type is not allowed';
/** The largest body read for validation (a larger one is refused with 413). */
export const MAX_BODY_BYTES = 8 * 1024 * 1024;

interface Param {
  readonly param: CompiledParameter;
  readonly validate: ValidateFunction | null;
}

interface State {
  readonly params: readonly Param[];
  readonly body: ValidateFunction | null;
  readonly allowed: readonly MediaType[];
  readonly contentTypeParams: boolean;
  readonly verbose: boolean;
}

function compileOrThrow(text: string): ReturnType<typeof compileSchema> & { error?: undefined } {
  const c = compileSchema(text);
  // The CP refused such a schema already; a DP given one anyway refuses the snapshot.
  if ('error' in c) throw new TypeError(c.error);
  return c;
}

function refuse(ctx: PluginContext, state: State, generic: string, detail: string): void {
  ctx.respond(400, state.verbose ? detail : generic);
}

function checkParams(ctx: PluginContext, state: State): boolean {
  const request = ctx.request;
  for (const { param, validate } of state.params) {
    const raw = param.read(request);
    const where = `${param.location} '${param.name}'`;
    if (raw === undefined) {
      if (!param.required) continue;
      refuse(
        ctx,
        state,
        PARAM_MESSAGE,
        `${where} validation failed, [error] required parameter value not found in request`,
      );
      return false;
    }
    if (validate === null) continue;
    let ok: boolean;
    try {
      ok = validate(param.deserialize(raw, request));
    } catch {
      ok = false;
    }
    if (!ok) {
      refuse(
        ctx,
        state,
        PARAM_MESSAGE,
        `${where} validation failed, [error] ${describeError(validate.errors)}`,
      );
      return false;
    }
  }
  return true;
}

async function checkBody(ctx: PluginContext, state: State, validate: ValidateFunction): Promise<void> {
  const header = ctx.request.header('content-type');
  const type = header === undefined ? null : parseMediaType(header);
  if (type === null || !mediaTypeAllowed(type, state.allowed, state.contentTypeParams)) {
    ctx.respond(400, CONTENT_TYPE_MESSAGE);
    return;
  }
  if (!isJson(type)) return; // Kong validates JSON bodies only; other allowed types pass.
  const body = await ctx.request.body(MAX_BODY_BYTES);
  let data: unknown;
  try {
    data = JSON.parse(body.toString('utf8'));
  } catch {
    refuse(ctx, state, BODY_MESSAGE, 'request body is not valid JSON');
    return;
  }
  let ok: boolean;
  try {
    ok = validate(data);
  } catch {
    // A body nested deep enough to exhaust the stack does not conform.
    ok = false;
    validate.errors = null;
  }
  if (!ok) refuse(ctx, state, BODY_MESSAGE, `${BODY_MESSAGE}: ${describeError(validate.errors)}`);
}

export default definePlugin({
  ...requestValidatorSpec,
  init(config, { snapshot }): State {
    const compile = (text: string) => snapshot.memo(`request-validator:${text}`, () => compileOrThrow(text));
    const params: Param[] = (config.parameter_schema ?? []).map((p) => {
      const compiled = p.schema == null ? null : compile(p.schema);
      return {
        param: compileParameter({ ...p, schema: compiled?.schema ?? null }),
        validate: compiled?.validate ?? null,
      };
    });
    return {
      params,
      body: config.body_schema == null ? null : compile(config.body_schema).validate,
      allowed: config.allowed_content_types.map((t) => parseMediaType(t)!),
      contentTypeParams: config.content_type_parameter_validation,
      verbose: config.verbose_response,
    };
  },
  access(ctx, state) {
    if (state.params.length > 0 && !checkParams(ctx, state)) return;
    if (state.body !== null) return checkBody(ctx, state, state.body);
  },
});

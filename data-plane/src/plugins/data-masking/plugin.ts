/**
 * data-masking (ours, priority 799): masks personal data on its way through the gateway —
 * configured JSON values (JSONPath-like selectors), configured headers, and what the built-in
 * detectors find (e-mail, Luhn-checked card numbers, mod-97-checked IBANs) in every string of a
 * JSON body — in the request sent upstream and in the response sent to the client. Modes:
 * `redact`, `hash` (HMAC-SHA-256, joinable), `partial` (last N characters kept).
 *
 * Bodies are masked only when they are JSON (`application/json`, `+json`); anything else passes
 * untouched. Buffering is bounded by `max_body_size` and fails closed: a larger request body is
 * refused with 413, a larger response with 502 (GH_ERR_PLUGIN_RESPONSE_TOO_LARGE), so data that
 * should be masked is never passed on unmasked. A compressed response is decoded (gzip, deflate,
 * br; bounded too) and sent decoded; one in another coding is refused with 502.
 */
import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib';
import { definePlugin, type PluginContext, type RequestView, type ResponseHead } from '../api.js';
import { ProxyErrorCode } from '../../proxy/errors.js';
import { respondError } from '../runtime/gateway-errors.js';
import { maskJsonBody, masksBodies, type JsonMasker } from './body.js';
import { compileDetectors } from './detectors.js';
import { compileMask } from './mask.js';
import { parseSelector } from './selectors.js';
import { dataMaskingSpec } from './schema.js';

interface Side {
  readonly json: JsonMasker;
  /** Lower-case header names. */
  readonly headers: readonly string[];
  readonly bodies: boolean;
}

interface State {
  readonly request: Side;
  readonly response: Side;
  readonly mask: (s: string) => string;
  readonly maxBodySize: number;
}

function isJsonType(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  const t = contentType.split(';')[0]!.trim().toLowerCase();
  return t === 'application/json' || (t.startsWith('application/') && t.endsWith('+json'));
}

function hasBody(request: RequestView): boolean {
  const cl = request.header('content-length');
  if (cl !== undefined) return cl.trim() !== '0';
  return request.header('transfer-encoding') !== undefined;
}

function maskHeaders(
  names: readonly string[],
  values: (name: string) => string[],
  set: (name: string, value: string[]) => void,
  mask: (s: string) => string,
): void {
  for (const name of names) {
    const v = values(name);
    if (v.length > 0) set(name, v.map(mask));
  }
}

/** Decodes a response body in `coding` within `max` bytes: the bytes, or null when it can't. */
function decode(body: Buffer, coding: string, max: number): Buffer | null {
  const opts = { maxOutputLength: max };
  try {
    switch (coding) {
      case 'gzip':
      case 'x-gzip':
        return gunzipSync(body, opts);
      case 'deflate':
        return inflateSync(body, opts);
      case 'br':
        return brotliDecompressSync(body, opts);
      default:
        return null;
    }
  } catch {
    return null;
  }
}

async function maskRequest(ctx: PluginContext, state: State): Promise<void> {
  const side = state.request;
  const request = ctx.request;
  maskHeaders(
    side.headers,
    (n) => request.headerValues(n),
    (n, v) => ctx.setUpstreamHeader(n, v),
    state.mask,
  );
  if (!side.bodies || !isJsonType(request.header('content-type')) || !hasBody(request)) return;
  const encoding = request.header('content-encoding');
  if (encoding !== undefined && encoding.trim().toLowerCase() !== 'identity') return; // not readable JSON
  // Over max_body_size the read rejects with GH_ERR_PLUGIN_BODY_TOO_LARGE: the runtime answers 413.
  const body = await request.body(state.maxBodySize);
  let masked: Buffer | null;
  try {
    masked = maskJsonBody(body, side.json);
  } catch {
    ctx.log.warn('request JSON nested too deeply to mask: refused');
    respondError(ctx, ProxyErrorCode.BAD_REQUEST);
    return;
  }
  if (masked !== null) ctx.setUpstreamBody(masked);
}

function maskResponse(ctx: PluginContext, state: State): void {
  const side = state.response;
  const response = ctx.response;
  if (response === null) return;
  maskHeaders(
    side.headers,
    (n) => response.headerValues(n),
    (n, v) => ctx.setResponseHeader(n, v),
    state.mask,
  );
  if (!side.bodies || response.body === null || !isJsonType(response.header('content-type'))) return;
  let body = response.body;
  const coding = response.header('content-encoding')?.trim().toLowerCase();
  if (coding !== undefined && coding !== '' && coding !== 'identity') {
    const decoded = decode(body, coding, state.maxBodySize);
    if (decoded === null)
      refuseResponse(
        ctx,
        `response in content-encoding '${coding}' cannot be decoded within max_body_size`,
        ProxyErrorCode.RESPONSE_UNPROCESSABLE,
      );
    body = decoded;
    ctx.removeResponseHeader('content-encoding');
  }
  let masked: Buffer | null;
  try {
    masked = maskJsonBody(body, side.json);
  } catch {
    refuseResponse(ctx, 'response JSON nested too deeply to mask', ProxyErrorCode.RESPONSE_UNPROCESSABLE);
  }
  // Not JSON after all: passes untouched (decoded, when it was encoded).
  ctx.setResponseBody(masked ?? body);
}

/**
 * A response that cannot be masked is never sent: the runtime answers 502
 * GH_ERR_PLUGIN_RESPONSE_UNPROCESSABLE instead (a decoded body over the cap: ..._TOO_LARGE).
 */
function refuseResponse(ctx: PluginContext, why: string, code: ProxyErrorCode): never {
  ctx.log.warn({ code }, why);
  throw Object.assign(new Error(why), { code });
}

export default definePlugin({
  ...dataMaskingSpec,
  init(config): State {
    const scan = compileDetectors(config.detectors);
    const mask = compileMask({
      mode: config.mode,
      redaction: config.redaction,
      hashSecret: config.hash_secret ?? null,
      keepLast: config.keep_last,
    });
    const side = (c: { json: string[]; headers: string[] }): Side => {
      const selectors = c.json.map((text) => {
        const s = parseSelector(text);
        if ('error' in s) throw new TypeError(s.error);
        return s;
      });
      const json: JsonMasker = { selectors, scan, mask };
      return { json, headers: c.headers.map((h) => h.toLowerCase()), bodies: masksBodies(json) };
    };
    return {
      request: side(config.request),
      response: side(config.response),
      mask,
      maxBodySize: config.max_body_size,
    };
  },
  bufferResponse(state: State, response: ResponseHead): boolean {
    return (
      state.response.bodies &&
      response.status !== 204 &&
      response.status !== 304 &&
      isJsonType(response.header('content-type'))
    );
  },
  access(ctx, state) {
    if (state.response.bodies) {
      // A response body is buffered to be masked: capped, and asked for uncompressed.
      ctx.limitResponseBody(state.maxBodySize);
      ctx.setUpstreamHeader('accept-encoding', 'identity');
    }
    if (state.request.headers.length === 0 && !state.request.bodies) return;
    return maskRequest(ctx, state);
  },
  response(ctx, state) {
    maskResponse(ctx, state);
  },
});

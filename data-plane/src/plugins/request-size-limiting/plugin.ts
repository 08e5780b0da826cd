/**
 * request-size-limiting (Kong priority 951): refuses request bodies over
 * allowed_payload_size × size_unit with 413 "Request size limit exceeded" (417 when the client
 * sent `Expect: 100-continue`). A valid Content-Length is checked before any byte is read. A body
 * without one (chunked) streams upstream capped by the runtime (`limitBody`, nothing buffered):
 * the first byte over the limit aborts the upstream request and the client gets 413.
 * require_content_length refuses a body that is neither chunked nor announced by Content-Length
 * with 411.
 */
import { definePlugin, type PluginContext } from '../api.js';
import { ProxyErrorCode } from '../../proxy/errors.js';
import { respondError } from '../runtime/gateway-errors.js';
import { requestSizeLimitingSpec, UNIT_BYTES } from './schema.js';

export const LENGTH_REQUIRED_MESSAGE = 'A valid Content-Length header is required';

interface State {
  readonly maxBytes: number;
  readonly requireContentLength: boolean;
}

const DIGITS = /^\s*\d+\s*$/;

function refuse(ctx: PluginContext): void {
  const expect = ctx.request.header('expect');
  const status = expect !== undefined && expect.trim().toLowerCase() === '100-continue' ? 417 : 413;
  // The table's 413 closes the connection: that spares reading (and discarding) the rest of the body.
  respondError(ctx, ProxyErrorCode.BODY_TOO_LARGE, { status });
}

function isChunked(ctx: PluginContext): boolean {
  const te = ctx.request.header('transfer-encoding');
  return te !== undefined && te.toLowerCase().includes('chunked');
}

export default definePlugin({
  ...requestSizeLimitingSpec,
  init(config): State {
    return {
      maxBytes: config.allowed_payload_size * UNIT_BYTES[config.size_unit],
      requireContentLength: config.require_content_length,
    };
  },
  access(ctx, state) {
    const cl = ctx.request.header('content-length');
    if (cl !== undefined && DIGITS.test(cl)) {
      if (Number(cl) > state.maxBytes) refuse(ctx);
      return;
    }
    const chunked = isChunked(ctx);
    if (state.requireContentLength && !chunked) {
      ctx.respond(411, LENGTH_REQUIRED_MESSAGE);
      return;
    }
    // Streamed upstream, capped: one byte over maxBytes aborts the upstream request and the
    // runtime answers 413 "Request size limit exceeded" without reading the rest.
    if (chunked) ctx.request.limitBody(state.maxBytes);
  },
});

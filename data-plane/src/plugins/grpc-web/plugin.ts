/**
 * grpc-web (Kong priority 3): a browser's gRPC-Web call (HTTP/1.1 or h2; `application/grpc-web`,
 * `+proto`, or the base64 `application/grpc-web-text` forms) becomes a gRPC call to the route's
 * `grpc`/`grpcs` service over HTTP/2, and the answer streams back as gRPC-Web: the messages as the
 * upstream sends them (base64 per chunk in text mode) and its trailers (`grpc-status`,
 * `grpc-message`, custom metadata) as the closing trailer frame (flag 0x80). The request (one
 * message: gRPC-Web has no client streaming) is read whole within MAX_REQUEST_BYTES, decoded and
 * checked frame by frame before it goes upstream; bad input gets a 400 (INVALID_ARGUMENT, in
 * gRPC-Web form for a gRPC-Web content type). CORS as Kong: `allow_origin_header` on every
 * answer, a preflight OPTIONS answered here; unlike Kong, grpc-status and grpc-message are exposed
 * to scripts and the preflight allows the headers the browser asks for.
 */
import { definePlugin, type HeaderValue, type PluginContext } from '../api.js';
import { respondError } from '../runtime/gateway-errors.js';
import { ProxyErrorCode } from '../../proxy/errors.js';
import { checkRequestFrames, decodeBase64Chunks, webContentType } from './framing.js';
import { grpcWebSpec } from './schema.js';

/** The largest request body, decoded (gRPC's default largest message is 4 MiB). */
export const MAX_REQUEST_BYTES = 4 * 1024 * 1024;
/** The same bound on a text body before decoding (base64: 4 characters for 3 bytes). */
const MAX_TEXT_BYTES = Math.ceil(MAX_REQUEST_BYTES / 3) * 4;

/** Kong's preflight Access-Control-Allow-Headers, when the browser names none. */
const DEFAULT_ALLOW_HEADERS = 'content-type,x-grpc-web,x-user-agent';
/** A list of header names as a preflight's Access-Control-Request-Headers carries them. */
const HEADER_LIST = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+(?:[ \t]*,[ \t]*[!#$%&'*+.^_`|~0-9A-Za-z-]+)*$/;
const EXPOSE_HEADERS = 'grpc-status,grpc-message';
const NOT_POST: Record<string, HeaderValue> = Object.freeze({ allow: 'POST, OPTIONS' });

interface State {
  readonly origin: string | null;
  readonly passStrippedPath: boolean;
}

/** The preflight's answer headers: POST only, the headers the browser asked for (or Kong's list). */
function preflightHeaders(ctx: PluginContext): Record<string, HeaderValue> {
  const asked = ctx.request.header('access-control-request-headers')?.trim();
  return {
    'access-control-allow-methods': 'POST',
    'access-control-allow-headers':
      asked !== undefined && asked.length <= 4096 && HEADER_LIST.test(asked) ? asked : DEFAULT_ALLOW_HEADERS,
  };
}

/** Decodes and checks the body read, then sets it as the upstream's; or answers 400. */
function translateBody(ctx: PluginContext, body: Buffer, text: boolean): void {
  let bytes = body;
  if (text) {
    const decoded = decodeBase64Chunks(body);
    if (!decoded.ok) {
      ctx.respond(400, decoded.message);
      return;
    }
    bytes = decoded.bytes;
  }
  const problem = checkRequestFrames(bytes);
  if (problem !== null) {
    ctx.respond(400, problem);
    return;
  }
  ctx.setUpstreamBody(bytes);
}

export default definePlugin({
  ...grpcWebSpec,
  init(config): State {
    return {
      origin: config.allow_origin_header ?? null,
      passStrippedPath: config.pass_stripped_path === true,
    };
  },
  access(ctx, state) {
    const request = ctx.request;
    if (request.method === 'OPTIONS') {
      ctx.respond(200, undefined, preflightHeaders(ctx));
      return undefined;
    }
    if (request.method !== 'POST') {
      ctx.respond(405, 'gRPC-Web calls are POST requests', NOT_POST);
      return undefined;
    }
    const type = webContentType(request.header('content-type'));
    if (!type.ok) {
      ctx.respond(400, type.message);
      return undefined;
    }
    const protocol = ctx.service?.protocol;
    if (protocol !== undefined && protocol !== 'grpc' && protocol !== 'grpcs') {
      ctx.log.error({ protocol }, 'grpc-web needs a service of protocol grpc or grpcs');
      respondError(ctx, ProxyErrorCode.INTERNAL);
      return undefined;
    }
    // Kong: the gRPC method is the request's own path unless the stripped one is asked for.
    if (!state.passStrippedPath) ctx.setUpstreamPath(request.path);
    ctx.setUpstreamHeader('content-type', 'application/grpc');
    ctx.setUpstreamHeader('te', 'trailers');
    ctx.transformResponse(type.transform);
    return request
      .body(type.text ? MAX_TEXT_BYTES : MAX_REQUEST_BYTES)
      .then((body) => translateBody(ctx, body, type.text));
  },
  response(ctx, state) {
    if (state.origin !== null) ctx.setResponseHeader('access-control-allow-origin', state.origin);
    ctx.setResponseHeader('access-control-expose-headers', EXPOSE_HEADERS);
  },
});

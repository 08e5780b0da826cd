/**
 * grpc-gateway (Kong's): a REST/JSON request matched against the `google.api.http` bindings of
 * the configured descriptor set is sent to the gRPC service as the rpc it names (POST
 * `/pkg.Service/Method`, `content-type: application/grpc`, the message built from the path
 * variables, the query and the JSON body); the gRPC answer comes back as JSON, its `grpc-status`
 * as the HTTP status (Kong's table, status.ts). The descriptors are compiled once per snapshot.
 *
 * A request that is already gRPC (`content-type: application/grpc…`) passes through untouched,
 * so an instance on a service (or global) leaves the service's gRPC route to native clients.
 */
import type { JsonWriteOptions } from '@bufbuild/protobuf';
import { isGrpcContentType } from '../../proxy/grpc.js';
import { definePlugin, RESPONSE_BUFFER_LIMIT, type PluginContext } from '../api.js';
import { compileDescriptor, type Binding, type CompiledDescriptor } from './descriptor.js';
import { grpcGatewaySpec, type GrpcGatewayConfig } from './schema.js';
import { httpStatusOfGrpc } from './status.js';
import {
  buildRequest,
  findBinding,
  responseJson,
  TranscodeError,
  UpstreamMessageError,
  type Match,
} from './transcode.js';

interface State {
  readonly compiled: CompiledDescriptor;
  readonly json: Partial<JsonWriteOptions>;
}

/** The binding each transcoded request took (read by the response phase). */
const calls = new WeakMap<PluginContext, Binding>();

const JSON_TYPE = { 'content-type': 'application/json' } as const;

function forward(ctx: PluginContext, state: State, match: Match, body: Buffer | null): void {
  let framed: Buffer;
  try {
    framed = buildRequest(match, ctx.request.query, body, state.compiled.registry);
  } catch (err) {
    if (!(err instanceof TranscodeError)) throw err;
    ctx.log.info({ rpc: match.binding.rpc.path, reason: err.message }, 'grpc-gateway: request refused');
    ctx.respond(400, err.message);
    return;
  }
  calls.set(ctx, match.binding);
  ctx.setUpstreamMethod('POST');
  ctx.setUpstreamPath(match.binding.rpc.path);
  ctx.setUpstreamQuery('');
  ctx.setUpstreamHeader('content-type', 'application/grpc');
  ctx.setUpstreamHeader('te', 'trailers');
  // Kong's grpc-gateway decodes uncompressed messages only: ask for none.
  ctx.setUpstreamHeader('grpc-accept-encoding', 'identity');
  ctx.removeUpstreamHeader('content-encoding');
  ctx.removeUpstreamHeader('accept-encoding');
  ctx.setUpstreamBody(framed);
  // The answer must be read whole to be transcoded: never let raw gRPC frames through.
  ctx.limitResponseBody(RESPONSE_BUFFER_LIMIT);
}

function decodeGrpcMessage(value: string | undefined): string {
  if (value === undefined) return '';
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

export default definePlugin({
  ...grpcGatewaySpec,
  bufferResponse: true,

  init(config: GrpcGatewayConfig, ctx): State {
    // Instances with the same descriptor set and services share one compilation per snapshot.
    const set = config.descriptor_set ?? '';
    const compiled = ctx.snapshot.memo(`grpc-gateway\u0000${config.services.join(',')}\u0000${set}`, () =>
      compileDescriptor(set, config.services),
    );
    // The schema's check compiled the same config already: a failure here is a config the CP let by.
    if (typeof compiled === 'string') throw new TypeError(`grpc-gateway: ${compiled}`);
    return {
      compiled,
      json: {
        useProtoFieldName: config.use_proto_names,
        alwaysEmitImplicit: config.emit_defaults,
        enumAsInteger: !config.enum_as_name,
        registry: compiled.registry,
      },
    };
  },

  access(ctx, state) {
    if (isGrpcContentType(ctx.request.header('content-type'))) return;
    const match = findBinding(state.compiled, ctx.request.method, ctx.request.path);
    if (typeof match === 'string') {
      ctx.respond(400, match);
      return;
    }
    if (match.binding.body === '') {
      forward(ctx, state, match, null);
      return;
    }
    return ctx.request.body().then((body) => forward(ctx, state, match, body));
  },

  response(ctx, state) {
    const binding = calls.get(ctx);
    const res = ctx.response;
    if (binding === undefined || res === null) return;
    const raw = res.trailer('grpc-status') ?? res.header('grpc-status');
    if (raw === undefined) {
      // A gateway answer (upstream down, timeout…) is already JSON: left as it is.
      if (res.status !== 200) return;
      ctx.respond(502, 'the upstream answer is not a gRPC response (no grpc-status)');
      return;
    }
    const code = Number(raw);
    const headers = { 'grpc-status': raw };
    if (code !== 0) {
      const message = decodeGrpcMessage(res.trailer('grpc-message') ?? res.header('grpc-message'));
      ctx.respond(httpStatusOfGrpc(code), { code, message }, headers);
      return;
    }
    if (res.body === null) {
      ctx.respond(502, 'the upstream answer could not be read whole');
      return;
    }
    let json: string;
    try {
      json = responseJson(binding, res.body, state.json);
    } catch (err) {
      if (!(err instanceof UpstreamMessageError)) throw err;
      ctx.log.warn(
        { rpc: binding.rpc.path, reason: err.message },
        'grpc-gateway: unreadable upstream answer',
      );
      ctx.respond(502, `the upstream answer is not a ${binding.rpc.output.typeName}`);
      return;
    }
    ctx.respond(200, Buffer.from(json), { ...JSON_TYPE, ...headers });
  },
});

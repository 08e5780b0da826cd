import * as schema from '@gatehouse/shared/schema/index';
import { definePluginSpec, type PluginConfig } from '../api.js';

const { t } = schema;

/**
 * Kong's `proto` names a .proto file for JSON transcoding (`application/grpc-web+json`); this
 * gateway does not transcode, so a config that sets it is refused rather than half-applied.
 */
export const PROTO_UNSUPPORTED =
  'gRPC-Web JSON transcoding (proto) is not supported: clients must send application/grpc-web+proto or application/grpc-web-text+proto';

/** Kong's grpc-web schema (kong/plugins/grpc-web/schema.lua): same fields and defaults. */
const grpcWebSchema = t.record(
  {
    proto: t.string({
      custom_validator: () => PROTO_UNSUPPORTED,
      description:
        "Kong's .proto file for JSON transcoding. Not supported here: setting it is refused (clients send protobuf).",
    }),
    pass_stripped_path: t.boolean({
      description:
        'If set to `true` causes the plugin to pass the stripped request path to the upstream gRPC service.',
    }),
    allow_origin_header: t.string({
      default: '*',
      description:
        'The value of the `Access-Control-Allow-Origin` header in the response to the gRPC-Web client.',
    }),
  },
  { required: true },
);

/** What the control plane validates and describes (the handlers are in plugin.ts). */
export const grpcWebSpec = definePluginSpec({
  name: 'grpc-web',
  version: '1.0.0',
  priority: 3,
  schema: grpcWebSchema,
});

/** The validated config the handlers receive (inferred from the schema). */
export type GrpcWebConfig = PluginConfig<typeof grpcWebSpec.schema>;

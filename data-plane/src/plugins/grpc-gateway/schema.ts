import * as schema from '@gatehouse/shared/schema/index';
import { definePluginSpec, type PluginConfig } from '../api.js';
import { compileDescriptor } from './descriptor.js';

const { t } = schema;

const grpcGatewaySchema = t.record(
  {
    proto: t.string({
      description:
        "Kong's path to a .proto file on the node. Data planes read no files: compile the .proto into `descriptor_set` instead (a value here is refused, naming the commands).",
      custom_validator: () =>
        'a .proto file path cannot be read by data planes: set descriptor_set to the base64 of `protoc --include_imports --descriptor_set_out=api.pb api.proto` (or `buf build -o api.pb`)',
    }),
    descriptor_set: t.string({
      len_min: 1,
      description:
        "The service's FileDescriptorSet, base64-encoded, with its imports (`protoc --include_imports --descriptor_set_out` or `buf build -o`): its rpcs' `google.api.http` annotations define the REST API. Carried in the snapshot, so data planes need no files.",
    }),
    services: t.array(t.string({ len_min: 1 }), {
      required: true,
      default: [],
      len_max: 64,
      description:
        'Fully-qualified services of the set to expose (`pkg.Service`); empty: every service with annotated rpcs.',
    }),
    use_proto_names: t.boolean({
      required: true,
      default: true,
      description:
        "Response JSON keys are the proto field names (`in_print`, Kong's), else lowerCamel (`inPrint`).",
    }),
    emit_defaults: t.boolean({
      required: true,
      default: true,
      description: "Response JSON includes fields at their default value (Kong's), else omits them.",
    }),
    enum_as_name: t.boolean({
      required: true,
      default: true,
      description: 'Response enums as their value names, else as numbers.',
    }),
  },
  {
    required: true,
    entity_checks: [
      {
        custom_entity_check: {
          field_sources: ['descriptor_set', 'services', 'proto'],
          fn: (c) => {
            if (c.proto !== null && c.proto !== undefined) return null;
            const set = c.descriptor_set as string | null | undefined;
            if (set === null || set === undefined) return { descriptor_set: 'required field missing' };
            const compiled = compileDescriptor(set, c.services as string[]);
            if (typeof compiled !== 'string') return null;
            const field = compiled.startsWith('unknown service') || compiled.startsWith('service ');
            return { [field ? 'services' : 'descriptor_set']: compiled };
          },
        },
      },
    ],
  },
);

/**
 * Kong's grpc-gateway (kong/plugins/grpc-gateway): REST/JSON ↔ gRPC transcoding driven by the
 * `google.api.http` annotations of the service's descriptors. Priority 998, as Kong's: after
 * authentication and rate limiting, before request-termination.
 */
export const grpcGatewaySpec = definePluginSpec({
  name: 'grpc-gateway',
  version: '1.0.0',
  priority: 998,
  schema: grpcGatewaySchema,
});

export type GrpcGatewayConfig = PluginConfig<typeof grpcGatewaySpec.schema>;

/**
 * grpc-js service definition for ClusterService, built from the protobuf-es descriptors so
 * messages are (de)serialised by the generated code, never by hand.
 */
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import * as grpc from '@grpc/grpc-js';
import {
  ClusterService,
  ControlPlaneMessageSchema,
  DataPlaneMessageSchema,
  type ControlPlaneMessage,
  type DataPlaneMessage,
} from '../gen/gatehouse/v1/cluster_pb.js';

const connect = ClusterService.method.connect;

/** Messages encoded ahead of their writes (`encodeOnce`), with their bytes. */
const preEncoded = new WeakMap<ControlPlaneMessage, Buffer>();

/**
 * Encodes a control-plane message once for every stream it is written to (a snapshot sent to a
 * whole slice of DPs): the service's serializer returns these bytes instead of encoding the
 * message again per stream. The message must not be changed afterwards. Returns the message.
 */
export function encodeOnce(m: ControlPlaneMessage): ControlPlaneMessage {
  if (!preEncoded.has(m)) preEncoded.set(m, Buffer.from(toBinary(ControlPlaneMessageSchema, m)));
  return m;
}

export const clusterServiceDefinition = {
  connect: {
    path: `/${ClusterService.typeName}/${connect.name}`,
    requestStream: true,
    responseStream: true,
    requestSerialize: (m: DataPlaneMessage) => Buffer.from(toBinary(DataPlaneMessageSchema, m)),
    requestDeserialize: (b: Buffer) => fromBinary(DataPlaneMessageSchema, b),
    responseSerialize: (m: ControlPlaneMessage) =>
      preEncoded.get(m) ?? Buffer.from(toBinary(ControlPlaneMessageSchema, m)),
    responseDeserialize: (b: Buffer) => fromBinary(ControlPlaneMessageSchema, b),
    originalName: 'connect',
  },
} satisfies grpc.ServiceDefinition;

export type ClusterServiceClient = grpc.Client & {
  connect(
    metadata?: grpc.Metadata,
    options?: grpc.CallOptions,
  ): grpc.ClientDuplexStream<DataPlaneMessage, ControlPlaneMessage>;
};

export const ClusterServiceClient = grpc.makeGenericClientConstructor(
  clusterServiceDefinition,
  'gatehouse.v1.ClusterService',
) as unknown as new (
  address: string,
  credentials: grpc.ChannelCredentials,
  options?: grpc.ClientOptions,
) => ClusterServiceClient;

/** Convenience constructors so callers need not import the schemas. */
export const dpMessage = (m: DataPlaneMessage['message']): DataPlaneMessage =>
  create(DataPlaneMessageSchema, { message: m });
export const cpMessage = (m: ControlPlaneMessage['message']): ControlPlaneMessage =>
  create(ControlPlaneMessageSchema, { message: m });

/**
 * grpc-js service definition for ClusterService, built from the protobuf-es descriptors so
 * messages are (de)serialised by the generated code, never by hand.
 */
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import * as grpc from '@grpc/grpc-js';
import { MAX_OAUTH2_REVOCATIONS, OAUTH2_REVOCATIONS_PER_MESSAGE } from './limits.js';
import {
  ClusterService,
  ControlPlaneMessageSchema,
  DataPlaneMessageSchema,
  OAuth2GrantRedeemedSchema,
  OAuth2GrantRedemptionSchema,
  OAuth2RevocationsSchema,
  type ControlPlaneMessage,
  type DataPlaneMessage,
  type OAuth2GrantRedeemed,
  type OAuth2GrantRedemption,
} from '../gen/gatehouse/v1/cluster_pb.js';

const connect = ClusterService.method.connect;
const redeem = ClusterService.method.redeemOAuth2Grant;

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
  redeemOAuth2Grant: {
    path: `/${ClusterService.typeName}/${redeem.name}`,
    requestStream: false,
    responseStream: false,
    requestSerialize: (m: OAuth2GrantRedemption) => Buffer.from(toBinary(OAuth2GrantRedemptionSchema, m)),
    requestDeserialize: (b: Buffer) => fromBinary(OAuth2GrantRedemptionSchema, b),
    responseSerialize: (m: OAuth2GrantRedeemed) => Buffer.from(toBinary(OAuth2GrantRedeemedSchema, m)),
    responseDeserialize: (b: Buffer) => fromBinary(OAuth2GrantRedeemedSchema, b),
    originalName: 'redeemOAuth2Grant',
  },
} satisfies grpc.ServiceDefinition;

export type ClusterServiceClient = grpc.Client & {
  connect(
    metadata?: grpc.Metadata,
    options?: grpc.CallOptions,
  ): grpc.ClientDuplexStream<DataPlaneMessage, ControlPlaneMessage>;
  redeemOAuth2Grant(
    request: OAuth2GrantRedemption,
    metadata: grpc.Metadata,
    options: grpc.CallOptions,
    callback: (err: grpc.ServiceError | null, response?: OAuth2GrantRedeemed) => void,
  ): grpc.ClientUnaryCall;
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

/** The answer to RedeemOAuth2Grant. */
export const oauth2Redeemed = (alreadyUsed: boolean): OAuth2GrantRedeemed =>
  create(OAuth2GrantRedeemedSchema, { alreadyUsed });

type TokenIdInit = { jti: string; credentialId: string; expiresAt: bigint };
/** A RedeemOAuth2Grant request. */
export const oauth2Redemption = (
  grant: TokenIdInit,
  alsoRevoke: readonly TokenIdInit[],
): OAuth2GrantRedemption => create(OAuth2GrantRedemptionSchema, { grant, alsoRevoke: [...alsoRevoke] });

export { MAX_OAUTH2_REVOCATIONS, OAUTH2_REVOCATIONS_PER_MESSAGE };

/** OAuth2Revocations stream messages carrying `tokens`, at most OAUTH2_REVOCATIONS_PER_MESSAGE each. */
export function oauth2RevocationMessages(
  tokens: readonly { jti: string; credentialId: string; expiresAt: number }[],
): ControlPlaneMessage[] {
  const messages: ControlPlaneMessage[] = [];
  for (let i = 0; i < tokens.length; i += OAUTH2_REVOCATIONS_PER_MESSAGE) {
    const chunk = tokens.slice(i, i + OAUTH2_REVOCATIONS_PER_MESSAGE);
    messages.push(
      cpMessage({
        case: 'oauth2Revocations',
        value: create(OAuth2RevocationsSchema, {
          tokens: chunk.map((t) => ({ ...t, expiresAt: BigInt(t.expiresAt) })),
        }),
      }),
    );
  }
  return messages;
}

export * from '../gen/gatehouse/v1/cluster_pb.js';
export {
  clusterServiceDefinition,
  ClusterServiceClient,
  dpMessage,
  cpMessage,
  encodeOnce,
  oauth2Redeemed,
  oauth2Redemption,
  oauth2RevocationMessages,
  MAX_OAUTH2_REVOCATIONS,
  OAUTH2_REVOCATIONS_PER_MESSAGE,
} from './grpc.js';

export * from '../gen/gatehouse/v1/cluster_pb.js';
export {
  clusterServiceDefinition,
  ClusterServiceClient,
  dpMessage,
  cpMessage,
  encodeOnce,
  oauth2Redeemed,
  oauth2Redemption,
} from './grpc.js';

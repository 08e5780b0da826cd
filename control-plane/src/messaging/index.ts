export {
  createCpMessaging,
  type CpMessaging,
  type CpMessagingOptions,
  type MessagingState,
  type MessagingStatus,
  type NatsTlsOptions,
} from './cp-messaging.js';
export {
  SUBJECTS,
  type ConfigChanged,
  type OAuth2Revoked,
  type ProxyCachePurge,
  type PurgeOrder,
  type TargetHealthOrder,
} from './messages.js';
export { connectReplicas, type OAuth2RevocationRelay, type ReplicaWiring } from './replicas.js';
export { ReplicaErrors } from './errors.js';

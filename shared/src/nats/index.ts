export { NatsErrors } from './errors.js';
export {
  connectNats,
  NatsLink,
  type NatsLinkEvents,
  type NatsLinkOptions,
  type NatsLinkState,
  type NatsLinkStatus,
  type NatsSubscriber,
  type NatsSubscriptionHandle,
} from './link.js';
export {
  NATS_TLS_SETTINGS,
  natsSettings,
  natsUrlSetting,
  jetstreamSnapshotsSetting,
  jetstreamSnapshotsOn,
  type NatsSettings,
  type NatsTlsFiles,
} from './settings.js';
export { hideNatsCredentials, parseNatsUrl, type NatsServers } from './url.js';

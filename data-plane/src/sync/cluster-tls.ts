/**
 * The data plane's side of cluster mutual TLS: channel credentials that present this DP's
 * certificate and verify the CP's.
 *  - pki: the CP's chain is verified against the CA, and its name against `serverName`
 *    (Kong's cluster_server_name; default: the host of --control-plane), sent as SNI.
 *  - shared: the CP must present the very certificate this DP holds (SHA-256 fingerprint);
 *    no host name is checked.
 *  - off: plaintext (explicit only).
 */
import * as grpc from '@grpc/grpc-js';
import { SHARED_CLUSTER_SERVER_NAME, type ClusterTlsMaterial } from '@gatehouse/shared';

export type ClusterClientTls =
  { mode: 'off' } | { mode: 'pki' | 'shared'; material: ClusterTlsMaterial; serverName?: string };

export interface ClusterChannel {
  credentials: grpc.ChannelCredentials;
  channelOptions: grpc.ChannelOptions;
}

export function clusterChannel(tls: ClusterClientTls): ClusterChannel {
  if (tls.mode === 'off') return { credentials: grpc.credentials.createInsecure(), channelOptions: {} };
  const { material } = tls;
  if (tls.mode === 'shared') {
    return {
      credentials: grpc.credentials.createSsl(material.trust, material.key, material.cert, {
        checkServerIdentity: (_host, peer) =>
          peer.fingerprint256 === material.fingerprint256
            ? undefined
            : new Error('the control plane certificate is not the shared cluster certificate'),
      }),
      channelOptions: { 'grpc.ssl_target_name_override': SHARED_CLUSTER_SERVER_NAME },
    };
  }
  return {
    credentials: grpc.credentials.createSsl(material.trust, material.key, material.cert),
    channelOptions: tls.serverName ? { 'grpc.ssl_target_name_override': tls.serverName } : {},
  };
}

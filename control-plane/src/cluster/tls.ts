/**
 * The cluster server's side of mutual TLS.
 *
 * The TLS handshake requires a client certificate and verifies its chain against the trust
 * (the CA in `pki` mode, the shared certificate itself in `shared` mode): a DP with no
 * certificate, or one from another CA, never completes it. Right after the handshake, before
 * HTTP/2 starts, the leaf is checked against the policy (`shared`: the same certificate by
 * SHA-256 fingerprint; `pki`: the allow-list of common names, if any) and the socket is
 * destroyed if it fails. Every refusal is logged with the peer address and reason. Each stream
 * is checked again from its auth context before a byte is written to it.
 */
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { identityFromDer, type ClusterTlsMaterial, type Logger, type PeerIdentity } from '@gatehouse/shared';

export type ClusterServerTls =
  | { mode: 'off' }
  | {
      mode: 'pki' | 'shared';
      material: ClusterTlsMaterial;
      /** pki: only DP certificates with one of these common names are accepted (empty: any). */
      allowedCommonNames?: readonly string[];
    };

export type PeerCheck =
  { ok: true; identity: PeerIdentity | null } | { ok: false; reason: string; identity: PeerIdentity | null };

/** grpc server credentials for the policy: TLS requiring a verified client certificate, or plaintext. */
export function clusterServerCredentials(tls: ClusterServerTls): grpc.ServerCredentials {
  if (tls.mode === 'off') return grpc.ServerCredentials.createInsecure();
  return grpc.ServerCredentials.createSsl(
    tls.material.trust,
    [{ private_key: tls.material.key, cert_chain: tls.material.cert }],
    true,
  );
}

/** Checks a peer's leaf certificate (DER) against the policy; the chain was verified by TLS. */
export function checkPeer(tls: ClusterServerTls, raw: Buffer | undefined): PeerCheck {
  if (tls.mode === 'off') return { ok: true, identity: null };
  const identity = identityFromDer(raw);
  if (!identity) return { ok: false, reason: 'no client certificate', identity };
  if (tls.mode === 'shared') {
    return identity.fingerprint256 === tls.material.fingerprint256
      ? { ok: true, identity }
      : { ok: false, reason: 'client certificate is not the shared cluster certificate', identity };
  }
  const allowed = tls.allowedCommonNames ?? [];
  if (allowed.length > 0 && (identity.commonName === null || !allowed.includes(identity.commonName))) {
    return {
      ok: false,
      reason: `client certificate common name ${JSON.stringify(identity.commonName ?? identity.subject)} is not in --cluster-allowed-common-names`,
      identity,
    };
  }
  return { ok: true, identity };
}

/** The peer certificate of a server call (undefined on plaintext). */
export function callPeerCertificate(
  call: Pick<grpc.ServerUnaryCall<unknown, unknown>, 'getAuthContext'>,
): Buffer | undefined {
  const cert = call.getAuthContext().sslPeerCertificate;
  return cert?.raw;
}

interface TlsEvents {
  on(event: 'tlsClientError', listener: (err: Error, socket: TLSSocket) => void): unknown;
  prependListener(event: 'connection', listener: (socket: Socket) => void): unknown;
  prependListener(event: 'secureConnection', listener: (socket: TLSSocket) => void): unknown;
}

/** Why a handshake failed: the certificate verification error when there is one (OpenSSL's code). */
function handshakeFailure(err: Error, socket: TLSSocket): string {
  const verify = (socket as { authorizationError?: Error | string | null }).authorizationError;
  if (verify) return `client certificate refused: ${String(verify)}`;
  return (err as NodeJS.ErrnoException).code ?? err.message;
}

/**
 * Installs the handshake-time checks and refusal logs on the bound grpc server's TLS listeners.
 * grpc-js keeps them in a private map; if a grpc-js upgrade moves it, this throws (the cluster
 * server does not start) rather than serving without the checks and logs.
 */
export function guardTlsListeners(server: grpc.Server, tls: ClusterServerTls, logger: Logger): void {
  if (tls.mode === 'off') return;
  const listeners = (server as unknown as { http2Servers?: Map<TlsEvents, unknown> }).http2Servers;
  if (!(listeners instanceof Map) || listeners.size === 0)
    throw new Error('cannot install the cluster TLS checks: @grpc/grpc-js internals changed');
  // A socket that failed its handshake is already closed: remember the peer of each raw socket.
  const peers = new WeakMap<Socket, string>();
  const peerOf = (socket: TLSSocket) =>
    peers.get((socket as unknown as { _parent?: Socket })._parent ?? socket) ??
    `${socket.remoteAddress}:${socket.remotePort}`;
  for (const http2Server of listeners.keys()) {
    http2Server.prependListener('connection', (raw) => {
      peers.set(raw, `${raw.remoteAddress}:${raw.remotePort}`);
    });
    http2Server.on('tlsClientError', (err, socket) => {
      logger.warn(
        { peer: peerOf(socket), reason: handshakeFailure(err, socket), mode: tls.mode },
        'refused a cluster connection at the TLS handshake',
      );
    });
    http2Server.prependListener('secureConnection', (socket) => {
      const check = checkPeer(tls, socket.getPeerCertificate().raw);
      if (check.ok) return;
      logger.warn(
        {
          peer: peerOf(socket),
          reason: check.reason,
          subject: check.identity?.subject,
          mode: tls.mode,
        },
        'refused a cluster connection at the TLS handshake',
      );
      socket.destroy();
    });
  }
}

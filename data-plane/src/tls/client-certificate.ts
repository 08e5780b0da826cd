/**
 * The client certificate of a TLS connection, as the HTTPS listener received it when it asked for
 * one (see tls-listener.ts): the leaf and the chain the client sent after it, each parsed once per
 * connection (keep-alive requests on the connection reuse them). node's `getPeerCertificate(true)`
 * links the chain through `issuerCertificate`; a self-signed certificate links to itself.
 */
import { X509Certificate } from 'node:crypto';
import type { Socket } from 'node:net';
import type { DetailedPeerCertificate } from 'node:tls';

export interface ClientCertificate {
  /** The client's certificate. */
  readonly leaf: X509Certificate;
  /** The further certificates the client sent (intermediates), leaf's issuer first. */
  readonly chain: readonly X509Certificate[];
}

/** At most this many certificates are read from a client's chain (more are ignored). */
export const MAX_CLIENT_CHAIN = 10;

type PeerSocket = Socket & {
  encrypted?: boolean;
  getPeerCertificate?: (detailed: true) => DetailedPeerCertificate | Record<string, never> | null;
};

const NONE = null;
const cache = new WeakMap<object, ClientCertificate | null>();

function parse(socket: PeerSocket): ClientCertificate | null {
  if (socket.encrypted !== true || typeof socket.getPeerCertificate !== 'function') return NONE;
  let peer: DetailedPeerCertificate | Record<string, never> | null;
  try {
    peer = socket.getPeerCertificate(true);
  } catch {
    return NONE;
  }
  if (peer === null || !('raw' in peer) || !Buffer.isBuffer(peer.raw)) return NONE;
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(peer.raw);
  } catch {
    return NONE;
  }
  const chain: X509Certificate[] = [];
  const seen = new Set<object>([peer]);
  let next = peer.issuerCertificate as DetailedPeerCertificate | undefined;
  while (next !== undefined && next !== null && !seen.has(next) && chain.length < MAX_CLIENT_CHAIN) {
    seen.add(next);
    if (!Buffer.isBuffer(next.raw)) break;
    try {
      chain.push(new X509Certificate(next.raw));
    } catch {
      break;
    }
    next = next.issuerCertificate;
  }
  return { leaf, chain };
}

/** The certificate the client presented on `socket`, or null (plain HTTP, none sent, unreadable). */
export function clientCertificateOf(socket: Socket | undefined | null): ClientCertificate | null {
  if (socket === undefined || socket === null) return NONE;
  const known = cache.get(socket);
  if (known !== undefined) return known;
  const found = parse(socket);
  cache.set(socket, found);
  return found;
}

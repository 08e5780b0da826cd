/**
 * The client IP address of a request, as Kong's `real_ip` handling (nginx realip with
 * `real_ip_header X-Forwarded-For` and `real_ip_recursive on`):
 *
 * - the socket peer, unless the peer is inside a `trusted_ips` CIDR block;
 * - from a trusted peer, X-Forwarded-For (all its headers, in order) is walked right to left,
 *   skipping addresses that are themselves trusted; the first untrusted address is the client.
 *   When every address is trusted, the leftmost one is. An entry that is not an address stops the
 *   walk and the last good address (a trusted hop, or the peer) is kept, as nginx does;
 * - a spoofed X-Forwarded-For from an untrusted peer never changes anything.
 *
 * IPv4-mapped IPv6 peers (`::ffff:a.b.c.d`, what a dual-stack listener reports) are IPv4. The
 * result is in canonical form. Callers compute it lazily, once per request (`LazyClientIp`).
 */
import { CidrSet, formatIp, parseIp, type ParsedIp } from './cidr.js';

/** The name of the header read from trusted peers. */
export const REAL_IP_HEADER = 'x-forwarded-for';

/** Strips an optional port (`1.2.3.4:80`, `[::1]:80`) and brackets (`[::1]`) from an XFF entry. */
function entryAddress(entry: string): string {
  if (entry.charCodeAt(0) === 91 /* [ */) {
    const close = entry.indexOf(']');
    return close < 0 ? entry : entry.slice(1, close);
  }
  const colon = entry.indexOf(':');
  // Exactly one colon: IPv4 with a port. More: a bare IPv6 address.
  if (colon >= 0 && entry.indexOf(':', colon + 1) < 0) return entry.slice(0, colon);
  return entry;
}

function forwardedFor(rawHeaders: readonly string[]): string | null {
  let value: string | null = null;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    if (name.length === 15 && name.toLowerCase() === REAL_IP_HEADER) {
      const v = rawHeaders[i + 1]!;
      value = value === null ? v : `${value},${v}`;
    }
  }
  return value;
}

export class ClientIpResolver {
  private readonly trusted: CidrSet;

  /** `trustedIps`: addresses / CIDR blocks of the proxies in front (Kong's `trusted_ips`). */
  constructor(trustedIps: readonly string[] = []) {
    this.trusted = CidrSet.compile(trustedIps);
  }

  /** True when no proxy is trusted: the peer is always the client. */
  get trustsNobody(): boolean {
    return this.trusted.size === 0;
  }

  /** True when `ip` (text) is inside the trusted blocks. */
  isTrusted(ip: string): boolean {
    return this.trusted.hasText(ip);
  }

  /**
   * The client IP for a request from socket peer `peer` with node's flat `rawHeaders`.
   * An unknown peer (a destroyed socket) gives ''.
   */
  resolve(peer: string | undefined, rawHeaders: readonly string[]): string {
    if (peer === undefined || peer === '') return '';
    const peerIp = parseIp(peer);
    if (peerIp === null) return peer;
    if (this.trusted.size === 0 || !this.trusted.has(peerIp)) return formatIp(peerIp);
    const xff = forwardedFor(rawHeaders);
    if (xff === null) return formatIp(peerIp);

    let client: ParsedIp = peerIp;
    let end = xff.length;
    while (end > 0) {
      const comma = xff.lastIndexOf(',', end - 1);
      const entry = xff.slice(comma + 1, end).trim();
      end = comma < 0 ? 0 : comma;
      if (entry === '') continue;
      const ip = parseIp(entryAddress(entry));
      if (ip === null) break;
      client = ip;
      if (!this.trusted.has(ip)) break;
    }
    return formatIp(client);
  }
}

/** Per-request memo: the client IP is resolved on first use, then reused. */
export class LazyClientIp {
  private value: string | null = null;

  constructor(
    private readonly resolver: ClientIpResolver,
    private readonly peer: string | undefined,
    private readonly rawHeaders: readonly string[],
  ) {}

  get(): string {
    return (this.value ??= this.resolver.resolve(this.peer, this.rawHeaders));
  }
}

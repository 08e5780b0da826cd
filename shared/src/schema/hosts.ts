import { isIP } from 'node:net';

/** Host-name and host:port parsing shared by the host typedefs (Kong's `utils.normalize_ip`). */

const LABEL = '[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?';
export const HOSTNAME_RE = new RegExp(`^(?=.{1,253}$)${LABEL}(?:\\.${LABEL})*\\.?$`);

/** A host as Kong's normalize_ip splits it: name/ipv4/ipv6 and an optional port. */
export interface ParsedHost {
  type: 'name' | 'ipv4' | 'ipv6';
  host: string;
  port?: number;
}

/** Kong's `normalize_ip`: undefined when `s` is not a hostname or IP with an optional port. */
export function parseHostPort(s: string): ParsedHost | 'invalid port number' | undefined {
  if (isIP(s) === 6) return { type: 'ipv6', host: `[${s.toLowerCase()}]` };
  const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(s);
  if (bracket) {
    if (isIP(bracket[1]!) !== 6) return undefined;
    const out: ParsedHost = { type: 'ipv6', host: `[${bracket[1]!.toLowerCase()}]` };
    if (bracket[2] !== undefined) {
      const port = Number(bracket[2]);
      if (port > 65535) return 'invalid port number';
      out.port = port;
    }
    return out;
  }
  const m = /^([^:]+)(?::(\d*))?$/.exec(s);
  if (!m) return undefined;
  const host = m[1]!;
  let port: number | undefined;
  if (m[2] !== undefined) {
    if (m[2] === '' || Number(m[2]) > 65535) return 'invalid port number';
    port = Number(m[2]);
  }
  const type = isIP(host) === 4 ? 'ipv4' : HOSTNAME_RE.test(host) ? 'name' : undefined;
  if (!type) return undefined;
  if (type === 'name' && /^[\d.]+$/.test(host)) return undefined;
  const out: ParsedHost = { type, host: type === 'name' ? host.toLowerCase() : host };
  if (port !== undefined) out.port = port;
  return out;
}

/** A service host: hostname, IPv4 or IPv6, without a port. Returns Kong's message or null. */
export function hostError(s: string): string | null {
  if (isIP(s) || (s.startsWith('[') && s.endsWith(']') && isIP(s.slice(1, -1)) === 6)) return null;
  if (HOSTNAME_RE.test(s)) return null;
  if (/^[^:]+:\d+$/.test(s) || /^\[.*\]:\d+$/.test(s)) return 'must not have a port';
  return 'invalid hostname';
}

/** A route host: hostname with an optional port, a wildcard in the leftmost or rightmost label. */
export function routeHostError(s: string): string | null {
  let hostPart = s;
  const m = /^(.*?):(\d+)$/.exec(s);
  if (m && !isIP(s)) {
    hostPart = m[1]!;
    if (Number(m[2]) > 65535) return 'invalid port number';
  }
  if (isIP(hostPart) || (hostPart.startsWith('[') && hostPart.endsWith(']'))) return null;
  const stars = hostPart.split('*').length - 1;
  if (stars > 1) return 'only one wildcard must be specified';
  if (stars === 1) {
    if (!hostPart.startsWith('*.') && !hostPart.endsWith('.*'))
      return 'invalid wildcard: must be placed at leftmost or rightmost label';
    const rest = hostPart.startsWith('*.') ? hostPart.slice(2) : hostPart.slice(0, -2);
    return HOSTNAME_RE.test(rest) ? null : 'invalid hostname';
  }
  return HOSTNAME_RE.test(hostPart) ? null : 'invalid hostname';
}

/** A route's SNI: a route host that is not an IP and has no port. */
export function routeSniError(s: string): string | null {
  if (isIP(s)) return 'must not be an IP';
  if (/:\d+$/.test(s)) return 'must not have a port';
  return routeHostError(s);
}

/** Kong's `sni` checks on an already-substituted name: a hostname, not an IP, no port. */
export function sniNameError(s: string): string | null {
  const parsed = parseHostPort(s);
  if (parsed === 'invalid port number') return 'must not have a port';
  if (!parsed) return `invalid value: ${s}`;
  if (parsed.type !== 'name') return 'must not be an IP';
  if (parsed.port !== undefined) return 'must not have a port';
  return null;
}

/** Kong's `wildcard_host`: one `*`, as the first or last character, then an `sni`. */
export function wildcardHostError(s: string): string | null {
  const idx = s.indexOf('*');
  if (idx === -1) return sniNameError(s);
  if (idx !== 0 && idx !== s.length - 1) return 'wildcard must be leftmost or rightmost character';
  if (s.split('*').length - 1 > 1) return 'only one wildcard must be specified';
  return sniNameError(s.replace('*', 'wildcard'));
}

/** Kong's `host_with_optional_port`. */
export function hostWithOptionalPortError(s: string): string | null {
  const parsed = parseHostPort(s);
  if (parsed === 'invalid port number') return 'invalid port number';
  return parsed ? null : `invalid value: ${s}`;
}

/** Kong's `ip_or_cidr`: an IPv4/IPv6 address with an optional prefix length. */
export function isIpOrCidr(s: string): boolean {
  const [addr, bits, extra] = s.split('/');
  const family = isIP(addr ?? '');
  const maxBits = family === 6 ? 128 : 32;
  return (
    family !== 0 &&
    extra === undefined &&
    (bits === undefined || (/^\d+$/.test(bits) && Number(bits) <= maxBits))
  );
}

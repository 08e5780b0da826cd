/**
 * What compiling a configuration reads of DNS: the resolver's cached answers (no I/O), and the
 * names it asked for, which the swap then keeps fresh (DnsResolver.track). Without a resolver a
 * host name is left to undici, resolved on connect (no balancing across its addresses).
 */
import { isIP } from 'node:net';
import { parseTarget } from '../balancer/target-address.js';
import type { DnsAnswer, DnsRecord, DnsResolver } from './resolver.js';
import { PROXIED_PROTOCOLS } from '../proxy/service-targets.js';

export class DnsView {
  /** Every name looked up by this compile. */
  readonly names = new Set<string>();

  constructor(private readonly resolver: DnsResolver | null) {}

  /** True when `host` is a name this view resolves (not an IP literal, and a resolver exists). */
  resolves(host: string): boolean {
    return this.resolver !== null && isIP(host) === 0;
  }

  /** The cached answer for `name` (null: not resolved yet, or no resolver). */
  lookup(name: string): DnsAnswer | null {
    if (this.resolver === null) return null;
    const n = name.toLowerCase();
    this.names.add(n);
    return this.resolver.peek(n);
  }
}

/** One address of a target after resolution. */
export interface ResolvedAddress {
  readonly host: string;
  readonly port: number;
  readonly weight: number;
}

/**
 * The addresses of target `host:port` of weight `weight` (Kong's targets.lua): an IP is itself;
 * a name's A/AAAA records each get the target's weight and port; SRV records bring their own
 * port (0: the target's) and weight. Empty when the name did not resolve (yet).
 */
export function resolveTarget(
  dns: DnsView | null,
  host: string,
  port: number,
  weight: number,
): ResolvedAddress[] {
  if (dns === null || !dns.resolves(host)) return [{ host, port, weight }];
  const answer = dns.lookup(host);
  if (answer === null) return [];
  return answer.records.map((r: DnsRecord) => ({
    host: r.address,
    port: r.port ?? port,
    weight: answer.srv ? r.weight : weight,
  }));
}

/**
 * The host names `config` will look up: its upstreams' host-name targets and the hosts of its
 * services that name no upstream (what a worker resolves before compiling). Bounded by the config.
 */
export function dnsNamesOf(config: {
  readonly upstreams?: readonly { readonly name: string }[];
  readonly targets?: readonly { readonly target: string }[];
  readonly services?: readonly { readonly host: string; readonly protocol: string }[];
}): Set<string> {
  const names = new Set<string>();
  const upstreams = new Set((config.upstreams ?? []).map((u) => u.name.toLowerCase()));
  for (const t of config.targets ?? []) {
    const a = parseTarget(t.target);
    if (a !== null && isIP(a.host) === 0) names.add(a.host);
  }
  for (const s of config.services ?? []) {
    const host = s.host.toLowerCase();
    if (PROXIED_PROTOCOLS.has(s.protocol) && isIP(host) === 0 && !upstreams.has(host)) names.add(host);
  }
  return names;
}

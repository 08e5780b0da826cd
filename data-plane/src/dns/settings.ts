/**
 * The DNS settings of a data plane, Kong's `kong.conf` names: `dns_resolver`, `dns_hostsfile`,
 * `dns_order`, `dns_valid_ttl`, `dns_stale_ttl`, `dns_not_found_ttl`, `dns_error_ttl`. Parsed once
 * (CLI flags and `GATEHOUSE_DNS_*` variables); a bad value is refused with a message naming it.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';

export type DnsRecordType = 'LAST' | 'SRV' | 'A' | 'AAAA' | 'CNAME';
export const DNS_RECORD_TYPES: readonly DnsRecordType[] = ['LAST', 'SRV', 'A', 'AAAA', 'CNAME'];

export interface DnsServer {
  readonly host: string;
  readonly port: number;
}

export interface DnsSettings {
  /** Name servers, tried in order (Kong's `dns_resolver`); default: `/etc/resolv.conf`'s. */
  readonly servers: readonly DnsServer[];
  /** Kong's `dns_hostsfile` (null: none). */
  readonly hostsFile: string | null;
  /** Kong's `dns_order`: the record types tried, in order. */
  readonly order: readonly DnsRecordType[];
  /** Kong's `dns_valid_ttl` (seconds): replaces the records' TTL when set. */
  readonly validTtl: number | null;
  /** Kong's `dns_stale_ttl` (seconds): how long an expired answer is served while it cannot be refreshed. */
  readonly staleTtl: number;
  /** Kong's `dns_not_found_ttl` (seconds): how long "no such name" / "no records" is kept. */
  readonly notFoundTtl: number;
  /** Kong's `dns_error_ttl` (seconds): how long before a failed query is retried. */
  readonly errorTtl: number;
  /** Time for one query to one server (ms), and tries per server. */
  readonly timeoutMs: number;
  readonly attempts: number;
}

/** Kong's defaults (kong.conf.default), with `/etc/resolv.conf` and `/etc/hosts`. */
export const DNS_DEFAULTS: Omit<DnsSettings, 'servers'> = {
  hostsFile: '/etc/hosts',
  order: ['LAST', 'SRV', 'A', 'CNAME'],
  validTtl: null,
  staleTtl: 3600,
  notFoundTtl: 30,
  errorTtl: 1,
  timeoutMs: 2000,
  attempts: 2,
};

export class DnsSettingsError extends Error {
  readonly code = 'GH_ERR_DNS_INVALID_SETTING';
}

/** `ip`, `ip:port`, `[v6]:port`; the port defaults to 53. */
export function parseDnsServer(text: string): DnsServer {
  const t = text.trim();
  let host = t;
  let port = 53;
  const bracket = /^\[([^\]]+)\](?::(\d{1,5}))?$/.exec(t);
  if (bracket !== null) {
    host = bracket[1]!;
    if (bracket[2] !== undefined) port = Number(bracket[2]);
  } else if (isIP(t) === 0) {
    const colon = t.lastIndexOf(':');
    if (colon > 0 && /^\d{1,5}$/.test(t.slice(colon + 1))) {
      host = t.slice(0, colon);
      port = Number(t.slice(colon + 1));
    }
  }
  if (isIP(host) === 0 || port < 1 || port > 65535)
    throw new DnsSettingsError(`dns_resolver: '${text}' is not an IP address with an optional port`);
  return { host, port };
}

/** The name servers of a resolv.conf text (at most 3, as the C library and Kong). */
export function resolvConfServers(text: string): DnsServer[] {
  const out: DnsServer[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*nameserver\s+(\S+)/.exec(line);
    if (m === null) continue;
    const host = m[1]!.replace(/%.*$/, '');
    if (isIP(host) !== 0) out.push({ host, port: 53 });
  }
  return out.slice(0, 3);
}

function systemServers(): DnsServer[] {
  try {
    const servers = resolvConfServers(readFileSync('/etc/resolv.conf', 'utf8'));
    if (servers.length > 0) return servers;
  } catch {
    // no resolv.conf: fall through to the local resolver, as the C library does
  }
  return [{ host: '127.0.0.1', port: 53 }];
}

function seconds(name: string, text: string): number {
  if (!/^\d{1,9}$/.test(text.trim()))
    throw new DnsSettingsError(`${name}: '${text}' is not a whole number of seconds`);
  return Number(text.trim());
}

/** The raw settings as given (flags or variables); an absent or empty one keeps Kong's default. */
export interface DnsSettingsInput {
  resolver?: string | undefined;
  hostsFile?: string | undefined;
  order?: string | undefined;
  validTtl?: string | undefined;
  staleTtl?: string | undefined;
  notFoundTtl?: string | undefined;
  errorTtl?: string | undefined;
}

/** Settings from input, or a DnsSettingsError naming the bad one. */
export function dnsSettings(input: DnsSettingsInput = {}): DnsSettings {
  const given = (v: string | undefined): v is string => v !== undefined && v.trim() !== '';
  const servers = given(input.resolver) ? input.resolver.split(',').map(parseDnsServer) : systemServers();
  let order = DNS_DEFAULTS.order;
  if (given(input.order)) {
    const types = input.order.split(',').map((s) => s.trim().toUpperCase());
    for (const t of types)
      if (!(DNS_RECORD_TYPES as readonly string[]).includes(t))
        throw new DnsSettingsError(`dns_order: '${t}' is not one of ${DNS_RECORD_TYPES.join(', ')}`);
    order = types as DnsRecordType[];
  }
  return {
    ...DNS_DEFAULTS,
    servers,
    hostsFile: given(input.hostsFile) ? input.hostsFile : DNS_DEFAULTS.hostsFile,
    order,
    validTtl: given(input.validTtl) ? seconds('dns_valid_ttl', input.validTtl) : null,
    staleTtl: given(input.staleTtl) ? seconds('dns_stale_ttl', input.staleTtl) : DNS_DEFAULTS.staleTtl,
    notFoundTtl: given(input.notFoundTtl)
      ? seconds('dns_not_found_ttl', input.notFoundTtl)
      : DNS_DEFAULTS.notFoundTtl,
    errorTtl: given(input.errorTtl) ? seconds('dns_error_ttl', input.errorTtl) : DNS_DEFAULTS.errorTtl,
  };
}

/** The settings from `GATEHOUSE_DNS_*` variables (RESOLVER, HOSTSFILE, ORDER, VALID_TTL, ...). */
export function dnsSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): DnsSettings {
  return dnsSettings({
    resolver: env['GATEHOUSE_DNS_RESOLVER'],
    hostsFile: env['GATEHOUSE_DNS_HOSTSFILE'],
    order: env['GATEHOUSE_DNS_ORDER'],
    validTtl: env['GATEHOUSE_DNS_VALID_TTL'],
    staleTtl: env['GATEHOUSE_DNS_STALE_TTL'],
    notFoundTtl: env['GATEHOUSE_DNS_NOT_FOUND_TTL'],
    errorTtl: env['GATEHOUSE_DNS_ERROR_TTL'],
  });
}

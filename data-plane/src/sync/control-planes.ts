/**
 * The control planes a data plane may sync from: `--control-plane` as a comma-separated list of
 * host:port (or one DNS name resolving to several addresses), and the targets it dials.
 *
 * Kong's DP takes one `cluster_control_plane`; a Gatehouse DP takes several replicas of one fleet
 * and fails over between them (config-client.ts). A DNS name is resolved at the start of each
 * round over the list, so the targets follow DNS; each of its addresses is dialled with the name
 * as TLS server name (SNI and the name the CP certificate must hold), as a single name is.
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { ConfigErrors } from '@gatehouse/shared/errors';

/** One entry of `--control-plane`. */
export interface ControlPlaneEndpoint {
  host: string;
  port: number;
}

/** One address to dial: `address` for grpc, `serverName` the name its certificate must hold. */
export interface ControlPlaneTarget {
  address: string;
  /** The DNS name this address was resolved from (absent for an IP literal). */
  serverName?: string;
}

/** More is a typo or a list meant for something else; a fleet has a handful of CP replicas. */
export const MAX_CONTROL_PLANES = 32;

/** A DNS name (RFC 1123 labels) or an IP literal (IPv6 in brackets). */
const HOST_NAME =
  /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;
const ENTRY = /^(?:\[([0-9A-Fa-f:.]+)\]|([^[\]:]+)):(\d{1,5})$/;

function parseEntry(raw: string): ControlPlaneEndpoint | string {
  const m = ENTRY.exec(raw);
  if (!m) return `"${raw}" is not host:port`;
  const port = Number(m[3]);
  if (port < 1 || port > 65535) return `"${raw}": the port must be 1-65535`;
  const host = m[1] ?? m[2]!;
  const valid =
    m[1] !== undefined
      ? isIP(host) === 6
      : // All digits and dots is meant as an IPv4 address: it must be one.
        isIP(host) === 4 || (HOST_NAME.test(host) && !/^[\d.]+$/.test(host));
  if (!valid) return `"${raw}": "${host}" is not a host name or IP address`;
  return { host, port };
}

/** The problem with `text` as `--control-plane`, or its entries (order kept: the first is tried first). */
export function controlPlaneListProblem(text: string): string | ControlPlaneEndpoint[] {
  const parts = text.split(',').map((p) => p.trim());
  if (parts.length > MAX_CONTROL_PLANES)
    return `at most ${MAX_CONTROL_PLANES} addresses, got ${parts.length}`;
  const seen = new Set<string>();
  const out: ControlPlaneEndpoint[] = [];
  for (const part of parts) {
    if (part === '') return 'an empty address in the list';
    const e = parseEntry(part);
    if (typeof e === 'string') return e;
    const key = formatAddress(e.host, e.port).toLowerCase();
    if (seen.has(key)) return `"${part}" is listed twice`;
    seen.add(key);
    out.push(e);
  }
  return out;
}

/** `--control-plane` parsed; a typed config error (GH_ERR_CONFIG_INVALID_SETTING) naming the problem. */
export function parseControlPlanes(text: string): ControlPlaneEndpoint[] {
  const r = controlPlaneListProblem(text);
  if (typeof r === 'string')
    throw ConfigErrors.invalidSetting(
      `invalid setting --control-plane (GATEHOUSE_CONTROL_PLANE): ${r}; give host:port[,host:port...]`,
    );
  return r;
}

export function formatAddress(host: string, port: number): string {
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
}

export type Lookup = (host: string) => Promise<string[]>;

const systemLookup: Lookup = async (host) =>
  (await dnsLookup(host, { all: true, order: 'verbatim' })).map((a) => a.address);

/**
 * The addresses to dial, in order: an IP literal as given, a name as each address it resolves
 * to (deduplicated across the list). A name that does not resolve stays as the name (grpc
 * resolves it when dialling, and the failure is reported like any unreachable CP).
 */
export async function resolveControlPlanes(
  endpoints: readonly ControlPlaneEndpoint[],
  lookup: Lookup = systemLookup,
): Promise<ControlPlaneTarget[]> {
  const resolved = await Promise.all(
    endpoints.map(async ({ host, port }): Promise<ControlPlaneTarget[]> => {
      if (isIP(host)) return [{ address: formatAddress(host, port) }];
      const name = host.replace(/\.$/, '');
      let ips: string[] = [];
      try {
        ips = await lookup(name);
      } catch {
        /* unresolvable now: dialled by name below */
      }
      if (ips.length === 0) return [{ address: formatAddress(host, port), serverName: name }];
      return ips.map((ip) => ({ address: formatAddress(ip, port), serverName: name }));
    }),
  );
  const seen = new Set<string>();
  return resolved.flat().filter((t) => !seen.has(t.address) && seen.add(t.address));
}

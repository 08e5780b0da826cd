/** Kong's `target` field: `host[:port]`, `[v6]:port`; the port defaults to 8000. */
import { isIP } from 'node:net';

export interface TargetAddress {
  /** Host name or IP (IPv6 without brackets). */
  readonly host: string;
  readonly port: number;
}

export const DEFAULT_TARGET_PORT = 8000;

/** Parses a target string; returns null when it is not `host[:port]`. */
export function parseTarget(target: string): TargetAddress | null {
  let host: string;
  let portText: string | undefined;
  if (target.startsWith('[')) {
    const end = target.indexOf(']');
    if (end < 0) return null;
    host = target.slice(1, end);
    const rest = target.slice(end + 1);
    if (rest !== '' && !rest.startsWith(':')) return null;
    portText = rest === '' ? undefined : rest.slice(1);
    if (isIP(host) !== 6) return null;
  } else if (isIP(target) === 6) {
    host = target;
  } else {
    const colon = target.lastIndexOf(':');
    host = colon < 0 ? target : target.slice(0, colon);
    portText = colon < 0 ? undefined : target.slice(colon + 1);
  }
  if (host === '') return null;
  if (portText === undefined) return { host: host.toLowerCase(), port: DEFAULT_TARGET_PORT };
  if (!/^\d{1,5}$/.test(portText)) return null;
  const port = Number(portText);
  if (port < 1 || port > 65535) return null;
  return { host: host.toLowerCase(), port };
}

/** `host:port`, IPv6 in brackets: the authority used in origins and Host headers. */
export function authority(host: string, port: number | null): string {
  const h = host.includes(':') ? `[${host}]` : host;
  return port === null ? h : `${h}:${port}`;
}

/**
 * Which upstream pool a service or target sends to, named by a key; compiling a configuration
 * names its pools without opening any (proxy/service-targets.ts). A module of its own, without
 * undici: the primary compiles the node part of every configuration and never proxies
 * (docs/dev/architecture.md, "Start time"). proxy/upstream-pools.ts opens the pools.
 */
import type { Service } from '@gatehouse/shared/config/model';
import type { UpstreamTls } from '../tls/upstream-tls.js';

/**
 * The HTTP/1.1 clients a data plane can send to plain-HTTP upstreams with: `undici`, or `llhttp`
 * (proxy/h1-upstream.ts: keep-alive sockets and node's llhttp parser, undici for what it does not
 * send). `--upstream-client`, `GATEHOUSE_UPSTREAM_CLIENT`; docs/data-plane.md, "Upstream client".
 */
export const UPSTREAM_CLIENTS = ['undici', 'llhttp'] as const;
export type UpstreamClient = (typeof UPSTREAM_CLIENTS)[number];
export const DEFAULT_UPSTREAM_CLIENT: UpstreamClient = 'llhttp';

/** `GATEHOUSE_UPSTREAM_CLIENT` for a proxy made without the setting (tests, benches); an unknown value is refused by name. */
export function upstreamClientFromEnv(env: NodeJS.ProcessEnv): UpstreamClient {
  const value = env.GATEHOUSE_UPSTREAM_CLIENT;
  if (value === undefined || value === '') return DEFAULT_UPSTREAM_CLIENT;
  if ((UPSTREAM_CLIENTS as readonly string[]).includes(value)) return value as UpstreamClient;
  throw new Error(
    `GATEHOUSE_UPSTREAM_CLIENT: unknown client '${value.slice(0, 40)}' (known: ${UPSTREAM_CLIENTS.join(', ')})`,
  );
}

export interface PoolSpec {
  readonly key: string;
  /** `http://host:port` or `https://host:port`. */
  readonly origin: string;
  readonly connectTimeout: number;
  /** TLS settings for an https origin. */
  readonly tls: UpstreamTls | null;
  /** HTTP/2 to the upstream (a `grpc`/`grpcs` service): an H2Pool instead of an undici Pool. */
  readonly h2: boolean;
}

function bracket(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

/** The pool for a service proxied directly to `host:port`, or for one target of an upstream. */
export function poolSpec(
  service: Service,
  host: string,
  port: number,
  upstreamTls: UpstreamTls | null,
): PoolSpec {
  const secure = service.protocol === 'https' || service.protocol === 'grpcs' || service.protocol === 'wss';
  const origin = `${secure ? 'https' : 'http'}://${bracket(host)}:${port}`;
  const tlsSettings = secure ? upstreamTls : null;
  const h2 = service.protocol === 'grpc' || service.protocol === 'grpcs';
  return {
    key: `${h2 ? 'h2:' : ''}${origin}|${service.connect_timeout}|${tlsSettings === null ? '' : tlsSettings.key}`,
    origin,
    connectTimeout: service.connect_timeout,
    tls: tlsSettings,
    h2,
  };
}

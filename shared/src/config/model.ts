/**
 * The configuration model shared by the control plane (storage, Admin API, snapshot builder)
 * and the data plane (router, proxy). Field names, types and defaults are Kong 3.x's, so a
 * Kong user's entities carry over unchanged. Timestamps are Unix seconds, as Kong returns them.
 */

export type ServiceProtocol =
  'http' | 'https' | 'grpc' | 'grpcs' | 'tcp' | 'tls' | 'tls_passthrough' | 'udp' | 'ws' | 'wss';
export type RouteProtocol =
  'http' | 'https' | 'grpc' | 'grpcs' | 'tcp' | 'tls' | 'tls_passthrough' | 'udp' | 'ws' | 'wss';

export interface ForeignKey {
  id: string;
}

export interface Service {
  id: string;
  name: string | null;
  protocol: ServiceProtocol;
  host: string;
  port: number;
  path: string | null;
  retries: number;
  connect_timeout: number;
  write_timeout: number;
  read_timeout: number;
  enabled: boolean;
  tags: string[] | null;
  client_certificate: ForeignKey | null;
  tls_verify: boolean | null;
  tls_verify_depth: number | null;
  ca_certificates: string[] | null;
  created_at: number;
  updated_at: number;
}

export interface Route {
  id: string;
  name: string | null;
  protocols: RouteProtocol[];
  methods: string[] | null;
  hosts: string[] | null;
  paths: string[] | null;
  /** Header name (lower-case) -> accepted values; a value starting with `~*` is a regex. */
  headers: Record<string, string[]> | null;
  snis: string[] | null;
  sources: { ip?: string; port?: number }[] | null;
  destinations: { ip?: string; port?: number }[] | null;
  regex_priority: number;
  strip_path: boolean;
  path_handling: 'v0' | 'v1';
  preserve_host: boolean;
  https_redirect_status_code: 301 | 302 | 307 | 308 | 426;
  request_buffering: boolean;
  response_buffering: boolean;
  service: ForeignKey | null;
  tags: string[] | null;
  created_at: number;
  updated_at: number;
}

/**
 * The whole configuration a data plane needs. Entities are sorted by id so the same
 * configuration always encodes to the same bytes.
 */
export interface GatehouseConfig {
  services: Service[];
  routes: Route[];
}

/** Kong's defaults for fields a client may omit. */
export const SERVICE_DEFAULTS = {
  protocol: 'http',
  port: 80,
  path: null,
  retries: 5,
  connect_timeout: 60000,
  write_timeout: 60000,
  read_timeout: 60000,
  enabled: true,
  tags: null,
  client_certificate: null,
  tls_verify: null,
  tls_verify_depth: null,
  ca_certificates: null,
} as const satisfies Partial<Service>;

export const ROUTE_DEFAULTS = {
  protocols: ['http', 'https'],
  methods: null,
  hosts: null,
  paths: null,
  headers: null,
  snis: null,
  sources: null,
  destinations: null,
  regex_priority: 0,
  strip_path: true,
  path_handling: 'v0',
  preserve_host: false,
  https_redirect_status_code: 426,
  request_buffering: true,
  response_buffering: true,
  tags: null,
} as const satisfies Partial<Route>;

export const emptyConfig = (): GatehouseConfig => ({ services: [], routes: [] });

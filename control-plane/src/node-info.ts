/**
 * The node facts `GET /` reports under `configuration`, in Kong's names and shapes (kong/conf_loader:
 * `admin_listen`, `*_listeners`, `role`, `database`, `pg_*`), which Kong Manager's overview and
 * forms read. Built once by the CP from its settings.
 */
import type { Listen } from '@gatehouse/shared';
import type { GuiListener } from './admin/access-settings.js';

/** One listener as Kong's `*_listeners` entries describe it. */
export interface KongListener {
  ip: string;
  port: number;
  ssl: boolean;
  http2: boolean;
  proxy_protocol: boolean;
  deferred: boolean;
  reuseport: boolean;
  bind: boolean;
  /** Kong's listen directive text (`127.0.0.1:8002`, `0.0.0.0:8445 ssl`). */
  listener: string;
}

const hostPort = (host: string, port: number) => `${host.includes(':') ? `[${host}]` : host}:${port}`;

export function kongListener(host: string, port: number, ssl = false): KongListener {
  return {
    ip: host,
    port,
    ssl,
    http2: false,
    proxy_protocol: false,
    deferred: false,
    reuseport: false,
    bind: false,
    listener: hostPort(host, port) + (ssl ? ' ssl' : ''),
  };
}

/** Kong's `pg_*` fields of a Postgres URL (never the password). */
function postgresFields(databaseUrl: string): Record<string, unknown> {
  let url: URL;
  try {
    url = new URL(databaseUrl);
  } catch {
    return {};
  }
  const sslmode = url.searchParams.get('sslmode');
  return {
    pg_host: url.hostname.replace(/^\[|\]$/g, '') || 'localhost',
    pg_port: url.port ? Number(url.port) : 5432,
    pg_user: decodeURIComponent(url.username) || undefined,
    pg_database: decodeURIComponent(url.pathname.slice(1)) || undefined,
    pg_ssl: (sslmode !== null && sslmode !== 'disable') || url.searchParams.get('ssl') === 'true',
  };
}

export interface NodeInfoInput {
  /** The address the Admin API listens on (its real port once bound). */
  adminListen: Listen;
  adminGuiListeners: readonly GuiListener[];
  database: { kind: 'postgres' | 'pglite'; url?: string };
  cpId: string;
}

/**
 * `configuration` fields for `GET /`. `database` is Kong's setting (`postgres` or `off`): the
 * embedded PGlite is Postgres too, so it reads `postgres`; which engine runs is `database_engine`.
 * The CP serves no proxy, so `proxy_listeners` is empty (a Kong CP has `proxy_listen = off`).
 */
export function nodeConfiguration(n: NodeInfoInput): Record<string, unknown> {
  return {
    role: 'control_plane',
    router_flavor: 'traditional',
    database: 'postgres',
    database_engine: n.database.kind,
    ...(n.database.kind === 'postgres' && n.database.url ? postgresFields(n.database.url) : {}),
    admin_listen: [hostPort(n.adminListen.host, n.adminListen.port)],
    proxy_listen: [],
    proxy_listeners: [],
    admin_gui_listen: n.adminGuiListeners.map((l) => hostPort(l.host, l.port) + (l.ssl ? ' ssl' : '')),
    admin_gui_listeners: n.adminGuiListeners.map((l) => kongListener(l.host, l.port, l.ssl)),
    cp_id: n.cpId,
  };
}

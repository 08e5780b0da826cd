import type { Route, Service } from '@gatehouse/shared';
import type { Route as RouteRow, Service as ServiceRow } from '../generated/prisma/client.js';

const seconds = (d: Date) => Math.floor(d.getTime() / 1000);
const orNull = <T>(list: T[]) => (list.length > 0 ? list : null);

/** A services row as Kong's JSON shape. */
export function serviceFromRow(row: ServiceRow): Service {
  return {
    id: row.id,
    name: row.name,
    protocol: row.protocol as Service['protocol'],
    host: row.host,
    port: row.port,
    path: row.path,
    retries: row.retries,
    connect_timeout: row.connect_timeout,
    write_timeout: row.write_timeout,
    read_timeout: row.read_timeout,
    enabled: row.enabled,
    tags: orNull(row.tags),
    client_certificate: row.client_certificate_id ? { id: row.client_certificate_id } : null,
    tls_verify: row.tls_verify,
    tls_verify_depth: row.tls_verify_depth,
    ca_certificates: orNull(row.ca_certificates),
    created_at: seconds(row.created_at),
    updated_at: seconds(row.updated_at),
  };
}

/** A routes row as Kong's JSON shape. */
export function routeFromRow(row: RouteRow): Route {
  return {
    id: row.id,
    name: row.name,
    protocols: row.protocols as Route['protocols'],
    methods: orNull(row.methods),
    hosts: orNull(row.hosts),
    paths: orNull(row.paths),
    headers: (row.headers as Route['headers']) ?? null,
    snis: orNull(row.snis),
    sources: (row.sources as Route['sources']) ?? null,
    destinations: (row.destinations as Route['destinations']) ?? null,
    regex_priority: row.regex_priority,
    strip_path: row.strip_path,
    path_handling: row.path_handling as Route['path_handling'],
    preserve_host: row.preserve_host,
    https_redirect_status_code: row.https_redirect_status_code as Route['https_redirect_status_code'],
    request_buffering: row.request_buffering,
    response_buffering: row.response_buffering,
    service: row.service_id ? { id: row.service_id } : null,
    tags: orNull(row.tags),
    created_at: seconds(row.created_at),
    updated_at: seconds(row.updated_at),
  };
}

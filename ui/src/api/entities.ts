/** The Admin API entities the first screens show (the fields they use). */
export interface Service {
  id: string;
  name: string | null;
  protocol: string;
  host: string;
  port: number;
  path: string | null;
  tags?: string[] | null;
}

export interface Route {
  id: string;
  name: string | null;
  paths: string[] | null;
  methods: string[] | null;
  hosts: string[] | null;
  service: { id: string } | null;
}

export interface Consumer {
  id: string;
  username: string | null;
  custom_id: string | null;
}

export interface KeyAuthCredential {
  id: string;
  key: string;
  created_at: number;
}

export interface Plugin {
  id: string;
  name: string;
  enabled: boolean;
  config: Record<string, unknown>;
  service: { id: string } | null;
  route: { id: string } | null;
  consumer: { id: string } | null;
}

/** A service's URL as one would type it back in the form. */
export function serviceUrl(s: Service): string {
  return `${s.protocol}://${s.host}:${s.port}${s.path ?? ''}`;
}

/** A name to show for an entity: its name (or username), else the start of its id. */
export function label(e: { id: string; name?: string | null; username?: string | null }): string {
  return e.name ?? e.username ?? e.id.slice(0, 8);
}

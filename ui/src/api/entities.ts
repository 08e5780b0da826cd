/** The Admin API entities the plugins screen shows (the fields it uses). */
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

export interface Plugin {
  id: string;
  name: string;
  enabled: boolean;
  config: Record<string, unknown>;
  service: { id: string } | null;
  route: { id: string } | null;
  consumer: { id: string } | null;
}

/** A name to show for an entity: its name (or username), else the start of its id. */
export function label(e: { id: string; name?: string | null; username?: string | null }): string {
  return e.name ?? e.username ?? e.id.slice(0, 8);
}

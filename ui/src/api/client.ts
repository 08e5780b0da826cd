/**
 * The one way the UI reaches the Admin API: a base URL (from the CP's `/gatehouse-ui.json`) and
 * the admin token the user signed in with, sent as `Kong-Admin-Token`.
 */
import { apiErrorFrom } from './errors';

export interface Page<T> {
  data: T[];
  next: string | null;
}

export class AdminClient {
  constructor(
    readonly baseUrl: string,
    readonly token: string | null = null,
  ) {}

  withToken(token: string | null): AdminClient {
    return new AdminClient(this.baseUrl, token);
  }

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.token) headers['kong-admin-token'] = this.token;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(new URL(path, this.baseUrl), {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'omit',
    });
    const text = await res.text();
    if (!res.ok) throw apiErrorFrom(res.status, text);
    return (text ? JSON.parse(text) : null) as T;
  }

  get<T>(path: string): Promise<T> {
    return this.request<T>('GET', path);
  }

  /** Every page of a Kong-paginated list (`{data, next}`). */
  async list<T>(path: string): Promise<T[]> {
    const out: T[] = [];
    let next: string | null = path;
    while (next) {
      const page: Page<T> = await this.get<Page<T>>(next);
      out.push(...page.data);
      next = page.next;
    }
    return out;
  }
}

/** A consumer credential kind (from the CP's registry): `/consumers/{c}/{path}`, schema `/schemas/{kind}`. */
export interface CredentialKind {
  kind: string;
  label: string;
  path: string;
}

/** What the CP that served this page says: where the Admin API is, the consumer credential kinds. */
export interface UiConfig {
  adminUrl: string;
  credentials: CredentialKind[];
  /** The collections plugins nest under (`/services/{id}/plugins`): their entities get a Plugins list. */
  pluginParents: string[];
}

const isCredentialKind = (c: unknown): c is CredentialKind =>
  typeof c === 'object' &&
  c !== null &&
  ['kind', 'label', 'path'].every((k) => typeof (c as Record<string, unknown>)[k] === 'string');

/** The CP's `/gatehouse-ui.json`; served otherwise (Vite's dev server), port 8001 on this host, no credential lists. */
export async function discoverUiConfig(): Promise<UiConfig> {
  const fallback = {
    adminUrl: `${location.protocol}//${location.hostname}:8001`,
    credentials: [],
    pluginParents: [],
  };
  try {
    const res = await fetch('./gatehouse-ui.json', { cache: 'no-store' });
    if (!res.ok) return fallback;
    const j = (await res.json()) as {
      admin_api_url?: unknown;
      credentials?: unknown;
      plugin_parents?: unknown;
    };
    return {
      adminUrl: typeof j.admin_api_url === 'string' ? j.admin_api_url : fallback.adminUrl,
      credentials: Array.isArray(j.credentials) ? j.credentials.filter(isCredentialKind) : [],
      pluginParents: Array.isArray(j.plugin_parents)
        ? j.plugin_parents.filter((p): p is string => typeof p === 'string')
        : [],
    };
  } catch {
    // served by Vite's dev server or as plain files
    return fallback;
  }
}

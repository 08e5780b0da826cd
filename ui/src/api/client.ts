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

/** Where the Admin API is: the CP that served this page says so; else its port 8001 on this host. */
export async function discoverAdminUrl(): Promise<string> {
  try {
    const res = await fetch('./gatehouse-ui.json', { cache: 'no-store' });
    if (res.ok) {
      const j = (await res.json()) as { admin_api_url?: unknown };
      if (typeof j.admin_api_url === 'string') return j.admin_api_url;
    }
  } catch {
    // served by Vite's dev server or as plain files: fall through
  }
  return `${location.protocol}//${location.hostname}:8001`;
}

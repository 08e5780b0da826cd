/**
 * NATS_URL (both planes): comma-separated servers (`nats://host:port`, `tls://host:port` or bare
 * `host:port`), optionally with credentials in the URL (`nats://user:pass@host` or
 * `nats://token@host`). The NATS client takes credentials only as options, so they are taken out
 * of the URLs here; they are never logged or echoed in an error.
 */
import { ConfigErrors } from '../errors.js';

export interface NatsServers {
  /** The servers as host[:port], without scheme or credentials. */
  servers: string[];
  user?: string;
  pass?: string;
  token?: string;
  /** Some server asked for TLS (`tls://`): the connection requires TLS. */
  tls: boolean;
}

/**
 * The entry as an error may show it: everything before the last `@` (user, password or token,
 * even one holding `/`, `?` or `@`) is masked.
 */
export function hideNatsCredentials(entry: string): string {
  const at = entry.lastIndexOf('@');
  if (at < 0) return entry;
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(entry)?.[0] ?? '';
  return `${scheme}***${entry.slice(at)}`;
}
const hide = hideNatsCredentials;

/** Parses the setting, or throws GH_ERR_CONFIG_INVALID_SETTING naming what is wrong. */
export function parseNatsUrl(value: string): NatsServers {
  const bad = (what: string) => ConfigErrors.invalidSetting(`invalid setting --nats-url (NATS_URL): ${what}`);
  const entries = value.split(',').map((s) => s.trim());
  if (entries.some((s) => s === '')) throw bad('empty server in the list');
  const servers: string[] = [];
  let creds: { user?: string; pass?: string; token?: string } | null = null;
  let credsKey: string | null = null;
  let tls = false;
  for (const entry of entries) {
    const shown = hide(entry);
    let url: URL;
    try {
      url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(entry) ? entry : `nats://${entry}`);
    } catch {
      throw bad(`"${shown}" is not a URL (nats://host:port)`);
    }
    if (url.protocol !== 'nats:' && url.protocol !== 'tls:')
      throw bad(`"${shown}": the scheme must be nats:// or tls://`);
    if (url.hostname === '') throw bad(`"${shown}": no host`);
    if ((url.pathname !== '' && url.pathname !== '/') || url.search !== '' || url.hash !== '')
      throw bad(`"${shown}": no path, query or fragment is allowed`);
    if (url.protocol === 'tls:') tls = true;
    if (url.username !== '' || url.password !== '') {
      let user: string;
      let pass: string;
      try {
        user = decodeURIComponent(url.username);
        pass = decodeURIComponent(url.password);
      } catch {
        throw bad(`"${shown}": the user or password is not valid percent-encoding`);
      }
      const key = `${user}\0${pass}`;
      if (credsKey !== null && credsKey !== key)
        throw bad('the servers carry different credentials; give one set');
      credsKey = key;
      creds = url.password === '' ? { token: user } : { user, pass };
    }
    url.username = '';
    url.password = '';
    servers.push(url.host);
  }
  return { servers, tls, ...(creds ?? {}) };
}

/**
 * The Admin API access settings (declared once, shared by `gatehouse cp` and the `gatehouse config`
 * client) and their checks: the admin token, the browser origins allowed to write, the extra host
 * names the Admin API answers to.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { ConfigErrors, parseListen, type SettingSpec, type SettingValue } from '@gatehouse/shared';

export const ADMIN_TOKEN: SettingSpec = {
  key: 'adminToken',
  flag: 'admin-token',
  env: ['GATEHOUSE_ADMIN_TOKEN'],
  kind: 'string',
  description:
    'Admin API token, sent as Kong-Admin-Token (or Authorization: Bearer). Required when the Admin API ' +
    'listens on a non-loopback address; when set it is required on loopback too. Prefer the variable or ' +
    '--admin-token-file: a flag shows in the process list.',
};

export const ADMIN_TOKEN_FILE: SettingSpec = {
  key: 'adminTokenFile',
  flag: 'admin-token-file',
  env: ['GATEHOUSE_ADMIN_TOKEN_FILE'],
  kind: 'string',
  description: 'File holding the Admin API token (one line), instead of --admin-token.',
};

export const ADMIN_ORIGINS: SettingSpec = {
  key: 'adminOrigins',
  flag: 'admin-origins',
  env: ['GATEHOUSE_ADMIN_ORIGINS'],
  kind: 'list',
  description:
    'Comma-separated browser origins (scheme://host[:port]) allowed to write to the Admin API besides its ' +
    'own origin (e.g. an admin UI on another port). Other origins get 403 on writes.',
};

export const ADMIN_HOSTS: SettingSpec = {
  key: 'adminHosts',
  flag: 'admin-hosts',
  env: ['GATEHOUSE_ADMIN_HOSTS'],
  kind: 'list',
  description:
    'Comma-separated host names the Admin API answers to besides loopback names and its listen address ' +
    '(Host header check against DNS rebinding; enforced on a loopback listen or when this is set).',
};

export const ADMIN_GUI_LISTEN: SettingSpec = {
  key: 'adminGuiListen',
  flag: 'admin-gui-listen',
  env: ['GATEHOUSE_ADMIN_GUI_LISTEN'],
  kind: 'list',
  default: '127.0.0.1:8002',
  description:
    'Where the admin UI (Kong Manager) is served: comma-separated host:port, each optionally followed by " ssl" ' +
    '(Kong\'s admin_gui_listen), or "off". Its origins (http://localhost:<port> and http://127.0.0.1:<port> for a ' +
    'loopback or unspecified host) may call the Admin API from a browser, as --admin-origins entries.',
};

export const ADMIN_GUI_API_URL: SettingSpec = {
  key: 'adminGuiApiUrl',
  flag: 'admin-gui-api-url',
  env: ['GATEHOUSE_ADMIN_GUI_API_URL'],
  kind: 'string',
  description:
    "The Admin API origin (scheme://host[:port]) the admin UI calls (Kong's admin_gui_api_url). Default: this " +
    "CP's Admin API (--admin-listen; on 0.0.0.0 the host name the browser used for the UI).",
};

export const ADMIN_GUI_DIR: SettingSpec = {
  key: 'adminGuiDir',
  flag: 'admin-gui-dir',
  env: ['GATEHOUSE_ADMIN_GUI_DIR'],
  kind: 'string',
  description: "Folder with the admin UI's static build (default: ui/dist of this installation).",
};

export const ENFORCE_RBAC: SettingSpec = {
  key: 'enforceRbac',
  flag: 'enforce-rbac',
  env: ['GATEHOUSE_ENFORCE_RBAC'],
  kind: 'enum',
  values: ['on', 'off'],
  default: 'off',
  description:
    "Kong's enforce_rbac: on = every Admin API request needs an RBAC user's token (Kong-Admin-Token) whose roles " +
    'allow it (401 / 403 otherwise). The admin token then seeds the first super admin, kong_admin, on the first start.',
};

export const ADMIN_LOGIN_MAX_FAILURES: SettingSpec = {
  key: 'adminLoginMaxFailures',
  flag: 'admin-login-max-failures',
  env: ['GATEHOUSE_ADMIN_LOGIN_MAX_FAILURES'],
  kind: 'int',
  min: 0,
  max: 1_000_000,
  default: '10',
  description:
    'Login throttling: failed Admin API tokens allowed from one client address per --admin-login-window; then 429 ' +
    'until the window ends. 0 = no throttling. Counted per control-plane process.',
};

export const ADMIN_LOGIN_WINDOW: SettingSpec = {
  key: 'adminLoginWindow',
  flag: 'admin-login-window',
  env: ['GATEHOUSE_ADMIN_LOGIN_WINDOW'],
  kind: 'int',
  min: 1,
  max: 86_400,
  default: '60',
  description: 'Login throttling window, in seconds (see --admin-login-max-failures).',
};

/** What `gatehouse config --admin-url` needs to authenticate. */
export const ADMIN_CLIENT_SETTINGS: readonly SettingSpec[] = [ADMIN_TOKEN, ADMIN_TOKEN_FILE];
/** `gatehouse cp`'s Admin API access settings. */
export const ADMIN_ACCESS_SETTINGS: readonly SettingSpec[] = [
  ADMIN_TOKEN,
  ADMIN_TOKEN_FILE,
  ADMIN_ORIGINS,
  ADMIN_GUI_LISTEN,
  ADMIN_GUI_API_URL,
  ADMIN_GUI_DIR,
  ADMIN_HOSTS,
  ENFORCE_RBAC,
  ADMIN_LOGIN_MAX_FAILURES,
  ADMIN_LOGIN_WINDOW,
];

/** How a setting is named in messages: `--admin-token (GATEHOUSE_ADMIN_TOKEN)`. */
export function settingName(spec: SettingSpec): string {
  return spec.env.length ? `--${spec.flag} (${spec.env.join(', ')})` : `--${spec.flag}`;
}

export const MIN_TOKEN_LENGTH = 16;

/** Why a token cannot be used, or undefined. Tokens travel in a header: visible ASCII, no spaces. */
export function adminTokenProblem(token: string): string | undefined {
  if (!/^[\x21-\x7e]*$/.test(token))
    return 'must be printable ASCII without spaces (it is sent in an HTTP header)';
  if (token.length < MIN_TOKEN_LENGTH)
    return `must be at least ${MIN_TOKEN_LENGTH} characters (e.g. the output of 'openssl rand -hex 32')`;
  return undefined;
}

/**
 * The token from `--admin-token` or `--admin-token-file` (a file's trailing newline is dropped);
 * undefined when neither is set. Throws GH_ERR_CONFIG_INVALID_SETTING naming the setting.
 */
export async function resolveAdminToken(values: Record<string, SettingValue>): Promise<string | undefined> {
  const inline = values[ADMIN_TOKEN.key] as string | undefined;
  const file = values[ADMIN_TOKEN_FILE.key] as string | undefined;
  if (inline !== undefined && file !== undefined)
    throw ConfigErrors.invalidSetting(
      `set one of ${settingName(ADMIN_TOKEN)} and ${settingName(ADMIN_TOKEN_FILE)}, not both`,
    );
  if (file !== undefined) {
    let text: string;
    try {
      text = await readFile(resolve(file), 'utf8');
    } catch (e) {
      throw ConfigErrors.invalidSetting(
        `invalid setting ${settingName(ADMIN_TOKEN_FILE)}: cannot read ${file}: ${(e as Error).message}`,
      );
    }
    const token = text.replace(/\r?\n$/, '');
    const problem = adminTokenProblem(token);
    if (problem)
      throw ConfigErrors.invalidSetting(
        `invalid setting ${settingName(ADMIN_TOKEN_FILE)}: the token in ${file} ${problem}`,
      );
    return token;
  }
  if (inline === undefined) return undefined;
  const problem = adminTokenProblem(inline);
  if (problem) throw ConfigErrors.invalidSetting(`invalid setting ${settingName(ADMIN_TOKEN)}: ${problem}`);
  return inline;
}

/** `scheme://host[:port]` as browsers send it in `Origin`, or undefined when `text` is not an origin. */
export function normaliseOrigin(text: string): string | undefined {
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    return undefined;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
  if (url.username || url.password || url.search || url.hash || url.pathname !== '/') return undefined;
  return url.origin;
}

/** Checks `--admin-gui-api-url`: an http(s) origin, or undefined (the CP's own Admin API). */
export function parseAdminGuiApiUrl(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  const origin = normaliseOrigin(text);
  if (origin === undefined)
    throw ConfigErrors.invalidSetting(
      `invalid setting ${settingName(ADMIN_GUI_API_URL)}: "${text}" is not an origin (scheme://host[:port], no path)`,
    );
  return origin;
}

/** Checks and normalises `--admin-origins`. */
export function parseAdminOrigins(list: readonly string[]): string[] {
  return list.map((entry) => {
    const origin = normaliseOrigin(entry);
    if (!origin)
      throw ConfigErrors.invalidSetting(
        `invalid setting ${settingName(ADMIN_ORIGINS)}: "${entry}" is not an origin (scheme://host[:port], no path)`,
      );
    return origin;
  });
}

/** One admin UI listener (Kong's `admin_gui_listen` entry). */
export interface GuiListener {
  host: string;
  port: number;
  ssl: boolean;
}

/** Checks `--admin-gui-listen`: `host:port[ ssl]` entries, or `off` for none. */
export function parseAdminGuiListen(list: readonly string[]): GuiListener[] {
  if (list.length === 1 && list[0]!.trim().toLowerCase() === 'off') return [];
  return list.map((entry) => {
    const m = /^(\S+?)(?:\s+(ssl))?$/i.exec(entry.trim());
    const listen = m ? parseListen(m[1]!) : null;
    if (!m || !listen || listen.port === 0)
      throw ConfigErrors.invalidSetting(
        `invalid setting ${settingName(ADMIN_GUI_LISTEN)}: "${entry}" is not host:port (optionally followed by " ssl"), or "off"`,
      );
    return { host: listen.host, port: listen.port, ssl: m[2] !== undefined };
  });
}

/**
 * Who the UI talks to and as whom: the Admin API client, whether a token is needed, and the
 * signed-in token (kept in sessionStorage: gone when the tab closes).
 */
import { reactive } from 'vue';
import { AdminClient, discoverUiConfig, type CredentialKind } from './api/client';
import { ApiError } from './api/errors';
import { allows, identityFrom, UNKNOWN_IDENTITY } from './identity';

const TOKEN_KEY = 'gatehouse.adminToken';

export const session = reactive({
  ready: false,
  client: new AdminClient('http://127.0.0.1:8001'),
  signedIn: false,
  tokenRequired: false,
  /** Why the Admin API could not be reached (shown on the sign-in screen). */
  problem: '',
  /** The Kong version the Admin API reports (`GET /`). */
  version: '',
  /** The consumer credential kinds the CP's entity registry has. */
  credentials: [] as CredentialKind[],
  /** The collections whose entities have plugins (`/{collection}/{id}/plugins`). */
  pluginParents: [] as string[],
  /** Who is signed in and what they may do (`GET /userinfo`). */
  identity: UNKNOWN_IDENTITY,
});

/** Whether the signed-in identity may send this request (RBAC roles; always true without RBAC). */
export function can(method: string, path: string): boolean {
  return allows(session.identity, method, path);
}

async function probe(client: AdminClient): Promise<boolean> {
  // `/userinfo` first: every signed-in user may read it, while `/` needs a role that reads `/`.
  const me = await client.get<unknown>('/userinfo').catch((e: unknown) => {
    // A CP without `/userinfo` (older): nothing known, nothing hidden; a wrong token still throws.
    if (e instanceof ApiError && e.status === 404) return undefined;
    throw e;
  });
  session.identity = me === undefined ? UNKNOWN_IDENTITY : identityFrom(me);
  if (allows(session.identity, 'GET', '/')) {
    const info = await client.get<{ version?: string }>('/');
    session.version = info.version ?? '';
  }
  return true;
}

/** Finds the Admin API and signs in with a remembered token, or finds none is needed. */
export async function startSession(): Promise<void> {
  const config = await discoverUiConfig();
  session.credentials = config.credentials;
  session.pluginParents = config.pluginParents;
  const base = new AdminClient(config.adminUrl);
  const saved = sessionStorage.getItem(TOKEN_KEY);
  try {
    session.client = base.withToken(saved);
    session.signedIn = await probe(session.client);
    session.tokenRequired = saved !== null;
  } catch (e) {
    session.client = base;
    if (e instanceof ApiError && e.status === 401) {
      sessionStorage.removeItem(TOKEN_KEY);
      session.tokenRequired = true;
    } else session.problem = `The Admin API at ${base.baseUrl} could not be reached: ${(e as Error).message}`;
  }
  session.ready = true;
}

/** Signs in with an admin token; throws the Admin API's error (401: wrong token). */
export async function signIn(token: string): Promise<void> {
  const client = session.client.withToken(token);
  await probe(client);
  sessionStorage.setItem(TOKEN_KEY, token);
  session.client = client;
  session.signedIn = true;
  session.problem = '';
}

export function signOut(): void {
  sessionStorage.removeItem(TOKEN_KEY);
  session.client = session.client.withToken(null);
  session.signedIn = false;
  session.identity = UNKNOWN_IDENTITY;
}

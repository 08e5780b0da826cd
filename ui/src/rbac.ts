/**
 * RBAC's Admin API (Kong Enterprise's `/rbac/users`, `/rbac/roles`, `/rbac/roles/{r}/endpoints`)
 * as the Teams screens use it: the shapes, and the endpoint-permission form's checks before
 * sending (the Admin API checks again; its messages land beside the same fields).
 */
export interface RbacUser {
  id: string;
  name: string;
  comment: string | null;
  enabled: boolean;
  user_token_ident: string;
  user_token_expires_at: number | null;
  last_used_at: number | null;
}

export interface RbacRole {
  id: string;
  name: string;
  comment: string | null;
  is_bundled: boolean;
}

export interface RbacEndpoint {
  workspace: string;
  endpoint: string;
  actions: string[];
  negative: boolean;
  comment: string | null;
}

export const ACTIONS = ['read', 'create', 'update', 'delete'] as const;
export const WORKSPACES = ['default', '*'] as const;

/** An endpoint's own path under its role: `/rbac/roles/{r}/endpoints/{ws}/{endpoint without /}`. */
export function endpointPath(role: string, e: Pick<RbacEndpoint, 'workspace' | 'endpoint'>): string {
  const rest =
    e.endpoint === '*' ? '*' : e.endpoint.replace(/^\//, '').split('/').map(encodeURIComponent).join('/');
  return `/rbac/roles/${encodeURIComponent(role)}/endpoints/${encodeURIComponent(e.workspace)}/${rest}`;
}

export interface EndpointDraft {
  endpoint: string;
  actions: string[];
  negative: boolean;
  workspace: string;
  comment: string;
}

/** The body of a new endpoint permission, or the fields' problems (as the Admin API names them). */
export function endpointBody(
  d: EndpointDraft,
): { body: Record<string, unknown> } | { errors: Record<string, string> } {
  const errors: Record<string, string> = {};
  const endpoint = d.endpoint.trim();
  if (endpoint === '') errors.endpoint = 'required field missing';
  else if (endpoint !== '*' && !endpoint.startsWith('/'))
    errors.endpoint = 'must be "*" or a path starting with "/"';
  const actions = d.actions.filter((a) => (ACTIONS as readonly string[]).includes(a));
  if (actions.length === 0) errors.actions = 'choose at least one action';
  if (!(WORKSPACES as readonly string[]).includes(d.workspace)) errors.workspace = 'must be "default" or "*"';
  if (Object.keys(errors).length) return { errors };
  const body: Record<string, unknown> = { endpoint, actions, negative: d.negative, workspace: d.workspace };
  if (d.comment.trim()) body.comment = d.comment.trim();
  return { body };
}

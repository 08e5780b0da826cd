/**
 * The RBAC endpoints' request bodies, checked: JSON or form fields (form values are text), each
 * field's type and bounds, unknown fields refused. Every problem is Kong's schema violation
 * (400, `fields` naming each field), raised before anything is written.
 */
import { schemaViolation } from '@gatehouse/shared';
import type { EndpointChanges, NewEndpoint, NewUser, UserChanges } from './rbac-store.js';
import {
  endpointProblem,
  normaliseEndpoint,
  RBAC_ACTIONS,
  WORKSPACES,
  type RbacAction,
} from './permissions.js';
import { generateToken, tokenProblem } from './tokens.js';

const MAX_NAME = 128;
const MAX_COMMENT = 1024;
/** Latest accepted expiry (year 9999), in Unix seconds. */
const MAX_EPOCH_S = 253_402_300_799;

type Body = Record<string, unknown>;

class Reader {
  readonly errors: Record<string, string> = Object.create(null) as Record<string, string>;

  constructor(
    readonly body: Body,
    allowed: readonly string[],
  ) {
    for (const key of Object.keys(body)) if (!allowed.includes(key)) this.fail(key, 'unknown field');
  }

  has(key: string): boolean {
    return Object.hasOwn(this.body, key);
  }

  value(key: string): unknown {
    if (!this.has(key)) return undefined;
    const v = this.body[key];
    // A form field given twice arrives as a list.
    return Array.isArray(v) && v.every((x) => typeof x === 'string') && v.length === 1 ? v[0] : v;
  }

  fail(key: string, message: string): undefined {
    if (!Object.hasOwn(this.errors, key)) this.errors[key] = message;
    return undefined;
  }

  string(key: string, max: number): string | undefined {
    const v = this.value(key);
    if (v === undefined) return undefined;
    if (typeof v !== 'string') return this.fail(key, 'expected a string');
    if (v.length === 0) return this.fail(key, 'length must be at least 1');
    if (v.length > max) return this.fail(key, `length must not exceed ${max}`);
    // eslint-disable-next-line no-control-regex -- control characters are what is refused
    if (/[\x00-\x1f\x7f]/.test(v)) return this.fail(key, 'must not hold control characters');
    return v;
  }

  /** A string, or null (JSON null, or an empty form value) to clear it. */
  nullableString(key: string, max: number): string | null | undefined {
    const v = this.value(key);
    if (v === null || v === '') return this.has(key) ? null : undefined;
    return this.string(key, max);
  }

  boolean(key: string): boolean | undefined {
    const v = this.value(key);
    if (v === undefined) return undefined;
    if (typeof v === 'boolean') return v;
    if (v === 'true') return true;
    if (v === 'false') return false;
    return this.fail(key, 'expected a boolean');
  }

  /** Unix seconds (an integer, or its digits in a form), or null. */
  epoch(key: string): Date | null | undefined {
    const v = this.value(key);
    if (v === undefined) return undefined;
    if (v === null || v === '') return null;
    const n = typeof v === 'string' && /^\d{1,12}$/.test(v) ? Number(v) : v;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > MAX_EPOCH_S)
      return this.fail(key, 'expected a Unix time in seconds (an integer), or null');
    return new Date(n * 1000);
  }

  /** A set of actions: a list or a comma-separated string of read, create, update, delete, or `*`. */
  actions(key: string): RbacAction[] | undefined {
    const v = this.value(key);
    if (v === undefined) return undefined;
    const items =
      typeof v === 'string'
        ? v.split(',')
        : Array.isArray(v) && v.every((x) => typeof x === 'string')
          ? v
          : null;
    if (!items) return this.fail(key, 'expected a set of actions (read, create, update, delete)');
    const out = new Set<RbacAction>();
    for (const raw of items) {
      const a = raw.trim();
      if (a === '*') RBAC_ACTIONS.forEach((x) => out.add(x));
      else if ((RBAC_ACTIONS as readonly string[]).includes(a)) out.add(a as RbacAction);
      else return this.fail(key, `expected one of: ${RBAC_ACTIONS.join(', ')}, *`);
    }
    if (out.size === 0) return this.fail(key, 'must name at least one action');
    return RBAC_ACTIONS.filter((a) => out.has(a));
  }

  /** A list of names: a list or a comma-separated string. */
  names(key: string): string[] | undefined {
    const v = this.value(key);
    if (v === undefined) return undefined;
    const items =
      typeof v === 'string'
        ? v.split(',')
        : Array.isArray(v) && v.every((x) => typeof x === 'string')
          ? v
          : null;
    if (!items) return this.fail(key, 'expected a comma-separated list of role names');
    const names = [...new Set(items.map((n) => n.trim()).filter((n) => n !== ''))];
    if (names.length === 0) return this.fail(key, 'must name at least one role');
    if (names.length > 100) return this.fail(key, 'must name at most 100 roles');
    if (names.some((n) => n.length > MAX_NAME)) return this.fail(key, `a name must not exceed ${MAX_NAME}`);
    return names;
  }

  required<T>(key: string, value: T | undefined): T | undefined {
    if (value === undefined && !this.has(key)) this.fail(key, 'required field missing');
    return value;
  }

  done(): void {
    if (Object.keys(this.errors).length) throw schemaViolation({ ...this.errors });
  }
}

/** The body as an object of fields (undefined, as a body-less POST reads, is `{}`). */
function fields(body: unknown): Body {
  if (body === undefined) return {};
  if (body === null || typeof body !== 'object' || Array.isArray(body))
    throw schemaViolation({ '@entity': ['expected an object'] });
  return body as Body;
}

/** A user or role name: 1-128 characters, no control characters, no `/` (it is a path segment). */
function name(r: Reader, key: string): string | undefined {
  const v = r.string(key, MAX_NAME);
  if (v !== undefined && v.includes('/')) return r.fail(key, 'must not contain "/"');
  if (v !== undefined && v.trim() !== v) return r.fail(key, 'must not start or end with a space');
  return v;
}

function token(r: Reader, key: string): string | undefined {
  const v = r.value(key);
  if (v === undefined) return undefined;
  if (typeof v !== 'string') return r.fail(key, 'expected a string');
  const problem = tokenProblem(v);
  return problem ? r.fail(key, problem) : v;
}

/**
 * The user fields that hold a secret: answered once (on creation), stored only as a digest, and
 * redacted wherever the audit log stores a request body (audit/redact.ts reads this list).
 */
export const USER_SECRET_FIELDS = ['user_token'] as const;

const USER_FIELDS = ['name', ...USER_SECRET_FIELDS, 'user_token_expires_at', 'enabled', 'comment'];

/** `POST /rbac/users`: the user, its token (generated when none is given). */
export function newUser(body: unknown): NewUser {
  const r = new Reader(fields(body), USER_FIELDS);
  const n = r.required('name', name(r, 'name'));
  const t = token(r, 'user_token');
  const expiresAt = r.epoch('user_token_expires_at');
  const enabled = r.boolean('enabled');
  const comment = r.nullableString('comment', MAX_COMMENT);
  r.done();
  return {
    name: n!,
    token: t ?? generateToken(),
    expiresAt: expiresAt ?? null,
    enabled: enabled ?? true,
    comment: comment ?? null,
  };
}

/** `PATCH /rbac/users/{u}`: what changes (a new `user_token` rotates the token). */
export function userChanges(body: unknown): UserChanges {
  const r = new Reader(fields(body), USER_FIELDS);
  const out: UserChanges = {};
  const n = name(r, 'name');
  const t = token(r, 'user_token');
  const expiresAt = r.epoch('user_token_expires_at');
  const enabled = r.boolean('enabled');
  const comment = r.nullableString('comment', MAX_COMMENT);
  r.done();
  if (n !== undefined) out.name = n;
  if (t !== undefined) out.token = t;
  if (expiresAt !== undefined) out.expiresAt = expiresAt;
  if (enabled !== undefined) out.enabled = enabled;
  if (comment !== undefined) out.comment = comment;
  return out;
}

/** `POST`/`DELETE /rbac/users/{u}/roles`: `roles`, comma-separated names. */
export function roleNames(body: unknown): string[] {
  const r = new Reader(fields(body), ['roles']);
  const names = r.required('roles', r.names('roles'));
  r.done();
  return names!;
}

/** `POST /rbac/roles`, `PATCH /rbac/roles/{r}`. */
export function roleInput(body: unknown, create: boolean): { name?: string; comment?: string | null } {
  const r = new Reader(fields(body), ['name', 'comment']);
  const n = create ? r.required('name', name(r, 'name')) : name(r, 'name');
  const comment = r.nullableString('comment', MAX_COMMENT);
  r.done();
  return { ...(n !== undefined ? { name: n } : {}), ...(comment !== undefined ? { comment } : {}) };
}

/** A workspace as given in a body or a path: `default` (the one there is) or `*`. */
export function workspaceProblem(workspace: string): string | undefined {
  return (WORKSPACES as readonly string[]).includes(workspace)
    ? undefined
    : `unknown workspace "${workspace.slice(0, 64)}": this gateway has only "default" (or "*")`;
}

/** `POST /rbac/roles/{r}/endpoints`. */
export function newEndpoint(body: unknown): NewEndpoint {
  const r = new Reader(fields(body), ['endpoint', 'actions', 'negative', 'workspace', 'comment']);
  const raw = r.required('endpoint', r.string('endpoint', 512));
  const problem = raw === undefined ? undefined : endpointProblem(raw);
  if (problem) r.fail('endpoint', problem);
  const actions = r.required('actions', r.actions('actions'));
  const negative = r.boolean('negative');
  const workspace = r.string('workspace', 64);
  const wsProblem = workspace === undefined ? undefined : workspaceProblem(workspace);
  if (wsProblem) r.fail('workspace', wsProblem);
  const comment = r.nullableString('comment', MAX_COMMENT);
  r.done();
  return {
    endpoint: normaliseEndpoint(raw!),
    actions: actions!,
    negative: negative ?? false,
    workspace: workspace ?? 'default',
    comment: comment ?? null,
  };
}

/** `PATCH /rbac/roles/{r}/endpoints/{ws}/{endpoint}`. */
export function endpointChanges(body: unknown): EndpointChanges {
  const r = new Reader(fields(body), ['actions', 'negative', 'comment']);
  const actions = r.actions('actions');
  const negative = r.boolean('negative');
  const comment = r.nullableString('comment', MAX_COMMENT);
  r.done();
  return {
    ...(actions !== undefined ? { actions } : {}),
    ...(negative !== undefined ? { negative } : {}),
    ...(comment !== undefined ? { comment } : {}),
  };
}

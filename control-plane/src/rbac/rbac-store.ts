/**
 * RBAC users, roles and endpoint permissions in the database (`rbac_*` tables). Every method
 * takes checked input (rbac-input.ts) and answers rows; the Admin API shapes are in rbac-endpoints.ts.
 *
 * Every write runs in one transaction with its audit log entries (`audit_objects`, one per row
 * created, updated or deleted, rows a delete cascades to included; `dao_name` is the table's
 * name, daos.ts; token columns redacted), as configuration writes do (audit/objects.ts). The
 * bundled roles are re-seeded at every start but recorded only when they change; `last_used_at`
 * (a token's use, not an administrator's change) is not recorded.
 */
import { randomUUID } from 'node:crypto';
import { RbacErrors, type Logger } from '@gatehouse/shared';
import { ChangeLog, recordChanges } from '../audit/objects.js';
import { AuditRedactor } from '../audit/redact.js';
import type { PrismaClient } from '../generated/prisma/client.js';
import { notFound, uniqueViolation } from '../store/errors.js';
import type { Tx } from '../store/tx.js';
import { BUNDLED_ROLES, SUPER_ADMIN } from './bundled-roles.js';
import { PermissionSet, type EndpointPermission, type RbacAction } from './permissions.js';
import { tokenHash, tokenIdent } from './tokens.js';

/** Kong's name for the super admin its bootstrap creates (KONG_PASSWORD); ours from GATEHOUSE_ADMIN_TOKEN. */
export const SEED_ADMIN_NAME = 'kong_admin';

/** `last_used_at` is written at most this often per user. */
const LAST_USED_RESOLUTION_MS = 60_000;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

type Db = PrismaClient;
export type UserRow = Awaited<ReturnType<Db['rbacUser']['findUniqueOrThrow']>>;
export type RoleRow = Awaited<ReturnType<Db['rbacRole']['findUniqueOrThrow']>>;
export type EndpointRow = Awaited<ReturnType<Db['rbacRoleEndpoint']['findUniqueOrThrow']>>;

export interface NewUser {
  name: string;
  token: string;
  expiresAt: Date | null;
  enabled: boolean;
  comment: string | null;
}

export interface UserChanges {
  name?: string;
  token?: string;
  expiresAt?: Date | null;
  enabled?: boolean;
  comment?: string | null;
}

export interface NewEndpoint extends EndpointPermission {
  workspace: string;
  comment: string | null;
}

export interface EndpointChanges {
  actions?: RbacAction[];
  negative?: boolean;
  comment?: string | null;
}

/** A request's authenticated user and what its roles allow. */
export interface Authenticated {
  user: UserRow;
  permissions: PermissionSet;
}

/** A row as the audit log records it: timestamps as Unix seconds, as the Admin API answers them. */
function auditRow(row: object): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(row).map(([k, v]) => [k, v instanceof Date ? Math.floor(v.getTime() / 1000) : v]),
  );
}

/** The audit `entity_key` of the tables keyed by more than an id. */
const userRoleKey = (l: { user_id: string; role_id: string }) => `${l.user_id}:${l.role_id}`;
const endpointKey = (e: { role_id: string; workspace: string; endpoint: string }) =>
  `${e.role_id}:${e.workspace}:${e.endpoint}`;

/** A role's endpoints as one comparable text (the seed rewrites them only when they differ). */
const endpointSet = (
  rows: readonly { workspace: string; endpoint: string; actions: string[]; negative: boolean }[],
) =>
  rows
    .map((e) => `${e.workspace} ${e.endpoint} ${[...e.actions].sort().join(',')} ${e.negative}`)
    .sort()
    .join('\n');

function isUniqueError(e: unknown): boolean {
  return typeof e === 'object' && e !== null && (e as { code?: unknown }).code === 'P2002';
}

/** `key` names an id (a UUID) or a name: Kong's `{name_or_id}`. */
function byKey(key: string): { id: string } | { name: string } {
  return UUID.test(key) ? { id: key.toLowerCase() } : { name: key };
}

export class RbacStore {
  /** RBAC rows hold no plugin config: the redactor needs no plugin schemas. */
  private readonly redactor = new AuditRedactor(undefined);

  constructor(
    private readonly prisma: Db,
    private readonly logger: Logger,
  ) {}

  /** Runs one RBAC write and appends the changes it notes in `log` to the audit log, in one transaction. */
  private write<T>(fn: (tx: Tx, log: ChangeLog) => Promise<T>): Promise<T> {
    return this.prisma.$transaction(
      async (tx) => {
        const log = new ChangeLog();
        const out = await fn(tx, log);
        await recordChanges(tx, log, this.redactor);
        return out;
      },
      { timeout: 60_000, maxWait: 30_000 },
    );
  }

  /**
   * Writes the bundled roles (their permissions as bundled-roles.ts says, whatever the table
   * held) and, when `adminToken` is given and no `kong_admin` exists yet, the first super admin
   * with that token. Safe to run on every start and on several replicas at once.
   */
  async seed(adminToken?: string): Promise<void> {
    for (const role of BUNDLED_ROLES) {
      await this.write(async (tx, log) => {
        const before = await tx.rbacRole.findUnique({ where: { name: role.name } });
        const row = await tx.rbacRole.upsert({
          where: { name: role.name },
          create: { id: randomUUID(), name: role.name, comment: role.comment, is_bundled: true },
          update: { comment: role.comment, is_bundled: true },
        });
        if (!before) log.created('rbac_roles', auditRow(row));
        else if (before.comment !== row.comment || before.is_bundled !== row.is_bundled)
          log.updated('rbac_roles', auditRow(before), auditRow(row));
        const want = role.endpoints.map((e) => ({
          role_id: row.id,
          workspace: '*',
          endpoint: e.endpoint,
          actions: [...e.actions],
          negative: e.negative,
        }));
        const had = await tx.rbacRoleEndpoint.findMany({ where: { role_id: row.id } });
        if (endpointSet(had) === endpointSet(want)) return;
        await tx.rbacRoleEndpoint.deleteMany({ where: { role_id: row.id } });
        for (const e of had) log.deleted('rbac_role_endpoints', auditRow(e), endpointKey(e));
        await tx.rbacRoleEndpoint.createMany({ data: want, skipDuplicates: true });
        for (const e of await tx.rbacRoleEndpoint.findMany({ where: { role_id: row.id } }))
          log.created('rbac_role_endpoints', auditRow(e), endpointKey(e));
      });
    }
    if (adminToken === undefined) return;
    const existing = await this.prisma.rbacUser.findUnique({ where: { name: SEED_ADMIN_NAME } });
    if (existing) {
      if (existing.user_token_hash !== tokenHash(adminToken))
        this.logger.warn(
          { user: SEED_ADMIN_NAME },
          `the admin token (GATEHOUSE_ADMIN_TOKEN) is not ${SEED_ADMIN_NAME}'s token: it seeds the first super admin only; rotate tokens with PATCH /rbac/users/${SEED_ADMIN_NAME}`,
        );
      return;
    }
    try {
      const user = await this.createUser({
        name: SEED_ADMIN_NAME,
        token: adminToken,
        expiresAt: null,
        enabled: true,
        comment: 'Seeded from GATEHOUSE_ADMIN_TOKEN',
      });
      await this.addRoles(user, [SUPER_ADMIN]);
      this.logger.info({ user: SEED_ADMIN_NAME }, 'RBAC: created the first super admin');
    } catch (e) {
      // Another replica seeded it at the same moment.
      if (!(isGatehouseUnique(e) || isUniqueError(e))) throw e;
    }
  }

  /** Whether an enabled user holding `super-admin` exists (RBAC on needs one to be manageable). */
  async hasSuperAdmin(): Promise<boolean> {
    const n = await this.prisma.rbacUser.count({
      where: { enabled: true, roles: { some: { role: { name: SUPER_ADMIN } } } },
    });
    return n > 0;
  }

  /**
   * The enabled, unexpired user whose token this is, with its permissions; undefined otherwise.
   * Notes the use (last_used_at) at most once a minute.
   */
  async authenticate(token: string, now = new Date()): Promise<Authenticated | undefined> {
    const user = await this.prisma.rbacUser.findUnique({
      where: { user_token_hash: tokenHash(token) },
      include: { roles: { include: { role: { include: { endpoints: true } } } } },
    });
    if (!user || !user.enabled) return undefined;
    if (user.user_token_expires_at && user.user_token_expires_at.getTime() <= now.getTime()) return undefined;
    if (!user.last_used_at || now.getTime() - user.last_used_at.getTime() >= LAST_USED_RESOLUTION_MS) {
      this.prisma.rbacUser
        .updateMany({ where: { id: user.id }, data: { last_used_at: now } })
        .catch((e: unknown) => this.logger.warn({ err: e }, 'RBAC: could not note a token use'));
    }
    const permissions = user.roles.flatMap((ur) =>
      ur.role.endpoints.map((e) => ({
        endpoint: e.endpoint,
        actions: e.actions as RbacAction[],
        negative: e.negative,
      })),
    );
    const { roles: _roles, ...row } = user;
    return { user: row, permissions: new PermissionSet(permissions) };
  }

  // ---- users

  listUsers(): Promise<UserRow[]> {
    return this.prisma.rbacUser.findMany({ orderBy: { name: 'asc' } });
  }

  async getUser(key: string): Promise<UserRow> {
    const user = await this.prisma.rbacUser.findUnique({ where: byKey(key) as { id: string } });
    if (!user) throw notFound();
    return user;
  }

  async createUser(u: NewUser): Promise<UserRow> {
    const hash = tokenHash(u.token);
    await this.checkUserUnique(u.name, hash);
    try {
      return await this.write(async (tx, log) => {
        const row = await tx.rbacUser.create({
          data: {
            id: randomUUID(),
            name: u.name,
            user_token_hash: hash,
            user_token_ident: tokenIdent(hash),
            user_token_expires_at: u.expiresAt,
            enabled: u.enabled,
            comment: u.comment,
          },
        });
        log.created('rbac_users', auditRow(row));
        return row;
      });
    } catch (e) {
      if (isUniqueError(e)) throw uniqueViolation('name', u.name);
      throw e;
    }
  }

  async updateUser(key: string, changes: UserChanges): Promise<UserRow> {
    const user = await this.getUser(key);
    const hash = changes.token === undefined ? undefined : tokenHash(changes.token);
    await this.checkUserUnique(changes.name, hash, user.id);
    try {
      return await this.write(async (tx, log) => {
        const row = await tx.rbacUser.update({
          where: { id: user.id },
          data: {
            ...(changes.name !== undefined ? { name: changes.name } : {}),
            ...(hash !== undefined ? { user_token_hash: hash, user_token_ident: tokenIdent(hash) } : {}),
            ...(changes.expiresAt !== undefined ? { user_token_expires_at: changes.expiresAt } : {}),
            ...(changes.enabled !== undefined ? { enabled: changes.enabled } : {}),
            ...(changes.comment !== undefined ? { comment: changes.comment } : {}),
            updated_at: new Date(),
          },
        });
        log.updated('rbac_users', auditRow(user), auditRow(row));
        return row;
      });
    } catch (e) {
      if (isUniqueError(e)) throw uniqueViolation('name', changes.name ?? user.name);
      throw e;
    }
  }

  async deleteUser(key: string): Promise<void> {
    await this.write(async (tx, log) => {
      const user = await tx.rbacUser.findUnique({ where: byKey(key) as { id: string } });
      if (!user) return;
      const links = await tx.rbacUserRole.findMany({ where: { user_id: user.id } });
      const { count } = await tx.rbacUser.deleteMany({ where: { id: user.id } });
      if (count === 0) return;
      // The user's roles go with it (ON DELETE CASCADE): recorded too.
      for (const l of links) log.deleted('rbac_user_roles', auditRow(l), userRoleKey(l));
      log.deleted('rbac_users', auditRow(user));
    });
  }

  /** A taken name is Kong's unique violation; a taken token is refused without saying whose. */
  private async checkUserUnique(name: string | undefined, hash: string | undefined, self?: string) {
    if (name !== undefined) {
      const other = await this.prisma.rbacUser.findUnique({ where: { name } });
      if (other && other.id !== self) throw uniqueViolation('name', name);
    }
    if (hash !== undefined) {
      const other = await this.prisma.rbacUser.findUnique({ where: { user_token_hash: hash } });
      if (other && other.id !== self)
        throw RbacErrors.invalid('user_token: this token cannot be used (choose another one)');
    }
  }

  // ---- user roles

  async rolesOf(user: UserRow): Promise<RoleRow[]> {
    const rows = await this.prisma.rbacUserRole.findMany({
      where: { user_id: user.id },
      include: { role: true },
    });
    return rows.map((r) => r.role).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** Gives `user` the named roles (all must exist: one unknown name changes nothing). */
  async addRoles(user: UserRow, names: readonly string[]): Promise<RoleRow[]> {
    const roles = await this.rolesNamed(names);
    const where = { user_id: user.id, role_id: { in: roles.map((r) => r.id) } };
    await this.write(async (tx, log) => {
      const had = new Set((await tx.rbacUserRole.findMany({ where })).map(userRoleKey));
      await tx.rbacUserRole.createMany({
        data: roles.map((r) => ({ user_id: user.id, role_id: r.id })),
        skipDuplicates: true,
      });
      for (const l of await tx.rbacUserRole.findMany({ where }))
        if (!had.has(userRoleKey(l))) log.created('rbac_user_roles', auditRow(l), userRoleKey(l));
    });
    return this.rolesOf(user);
  }

  async removeRoles(user: UserRow, names: readonly string[]): Promise<void> {
    const roles = await this.rolesNamed(names);
    const where = { user_id: user.id, role_id: { in: roles.map((r) => r.id) } };
    await this.write(async (tx, log) => {
      const links = await tx.rbacUserRole.findMany({ where });
      await tx.rbacUserRole.deleteMany({ where });
      for (const l of links) log.deleted('rbac_user_roles', auditRow(l), userRoleKey(l));
    });
  }

  private async rolesNamed(names: readonly string[]): Promise<RoleRow[]> {
    const roles = await this.prisma.rbacRole.findMany({ where: { name: { in: [...names] } } });
    const missing = names.filter((n) => !roles.some((r) => r.name === n));
    if (missing.length) throw RbacErrors.invalid(`role not found with name '${missing[0]}'`);
    return roles;
  }

  // ---- roles

  listRoles(): Promise<RoleRow[]> {
    return this.prisma.rbacRole.findMany({ orderBy: { name: 'asc' } });
  }

  async getRole(key: string): Promise<RoleRow> {
    const role = await this.prisma.rbacRole.findUnique({ where: byKey(key) as { id: string } });
    if (!role) throw notFound();
    return role;
  }

  async createRole(name: string, comment: string | null): Promise<RoleRow> {
    if (await this.prisma.rbacRole.findUnique({ where: { name } })) throw uniqueViolation('name', name);
    try {
      return await this.write(async (tx, log) => {
        const row = await tx.rbacRole.create({ data: { id: randomUUID(), name, comment } });
        log.created('rbac_roles', auditRow(row));
        return row;
      });
    } catch (e) {
      if (isUniqueError(e)) throw uniqueViolation('name', name);
      throw e;
    }
  }

  async updateRole(key: string, changes: { name?: string; comment?: string | null }): Promise<RoleRow> {
    const role = this.custom(await this.getRole(key));
    if (changes.name !== undefined && changes.name !== role.name) {
      if (await this.prisma.rbacRole.findUnique({ where: { name: changes.name } }))
        throw uniqueViolation('name', changes.name);
    }
    try {
      return await this.write(async (tx, log) => {
        const row = await tx.rbacRole.update({
          where: { id: role.id },
          data: {
            ...(changes.name !== undefined ? { name: changes.name } : {}),
            ...(changes.comment !== undefined ? { comment: changes.comment } : {}),
            updated_at: new Date(),
          },
        });
        log.updated('rbac_roles', auditRow(role), auditRow(row));
        return row;
      });
    } catch (e) {
      if (isUniqueError(e)) throw uniqueViolation('name', changes.name ?? role.name);
      throw e;
    }
  }

  async deleteRole(key: string): Promise<void> {
    const role = await this.prisma.rbacRole.findUnique({ where: byKey(key) as { id: string } });
    if (!role) return;
    this.custom(role);
    await this.write(async (tx, log) => {
      const endpoints = await tx.rbacRoleEndpoint.findMany({ where: { role_id: role.id } });
      const links = await tx.rbacUserRole.findMany({ where: { role_id: role.id } });
      const { count } = await tx.rbacRole.deleteMany({ where: { id: role.id } });
      if (count === 0) return;
      // Its endpoints and its users' links go with it (ON DELETE CASCADE): recorded too.
      for (const e of endpoints) log.deleted('rbac_role_endpoints', auditRow(e), endpointKey(e));
      for (const l of links) log.deleted('rbac_user_roles', auditRow(l), userRoleKey(l));
      log.deleted('rbac_roles', auditRow(role));
    });
  }

  /** A bundled role cannot be changed (400). */
  private custom(role: RoleRow): RoleRow {
    if (role.is_bundled)
      throw RbacErrors.bundledRole(`'${role.name}' is a bundled role: it cannot be changed or deleted`);
    return role;
  }

  // ---- role endpoints

  listEndpoints(role: RoleRow): Promise<EndpointRow[]> {
    return this.prisma.rbacRoleEndpoint.findMany({
      where: { role_id: role.id },
      orderBy: [{ workspace: 'asc' }, { endpoint: 'asc' }],
    });
  }

  async getEndpoint(role: RoleRow, workspace: string, endpoint: string): Promise<EndpointRow> {
    const row = await this.prisma.rbacRoleEndpoint.findUnique({
      where: { role_id_workspace_endpoint: { role_id: role.id, workspace, endpoint } },
    });
    if (!row) throw notFound();
    return row;
  }

  async createEndpoint(role: RoleRow, e: NewEndpoint): Promise<EndpointRow> {
    this.custom(role);
    const key = { role_id: role.id, workspace: e.workspace, endpoint: e.endpoint };
    const taken = () =>
      uniqueViolation('endpoint', `${e.workspace}${e.endpoint === '*' ? '/*' : e.endpoint}`);
    if (await this.prisma.rbacRoleEndpoint.findUnique({ where: { role_id_workspace_endpoint: key } }))
      throw taken();
    try {
      return await this.write(async (tx, log) => {
        const row = await tx.rbacRoleEndpoint.create({
          data: { ...key, actions: [...e.actions], negative: e.negative, comment: e.comment },
        });
        log.created('rbac_role_endpoints', auditRow(row), endpointKey(row));
        return row;
      });
    } catch (err) {
      if (isUniqueError(err)) throw taken();
      throw err;
    }
  }

  async updateEndpoint(
    role: RoleRow,
    workspace: string,
    endpoint: string,
    changes: EndpointChanges,
  ): Promise<EndpointRow> {
    this.custom(role);
    const row = await this.getEndpoint(role, workspace, endpoint);
    return this.write(async (tx, log) => {
      const after = await tx.rbacRoleEndpoint.update({
        where: { role_id_workspace_endpoint: { role_id: row.role_id, workspace, endpoint } },
        data: {
          ...(changes.actions !== undefined ? { actions: [...changes.actions] } : {}),
          ...(changes.negative !== undefined ? { negative: changes.negative } : {}),
          ...(changes.comment !== undefined ? { comment: changes.comment } : {}),
          updated_at: new Date(),
        },
      });
      log.updated('rbac_role_endpoints', auditRow(row), auditRow(after), endpointKey(after));
      return after;
    });
  }

  async deleteEndpoint(role: RoleRow, workspace: string, endpoint: string): Promise<void> {
    this.custom(role);
    const where = { role_id: role.id, workspace, endpoint };
    await this.write(async (tx, log) => {
      const rows = await tx.rbacRoleEndpoint.findMany({ where });
      await tx.rbacRoleEndpoint.deleteMany({ where });
      for (const e of rows) log.deleted('rbac_role_endpoints', auditRow(e), endpointKey(e));
    });
  }
}

function isGatehouseUnique(e: unknown): boolean {
  return (
    typeof e === 'object' && e !== null && (e as { code?: unknown }).code === 'GH_ERR_ENTITY_UNIQUE_VIOLATION'
  );
}

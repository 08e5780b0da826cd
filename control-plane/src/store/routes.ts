import { randomUUID } from 'node:crypto';
import { isUuid, validateRoute, type Route, type RouteInput } from '@gatehouse/shared';
import { Prisma, type PrismaClient, type Route as RouteRow } from '../generated/prisma/client.js';
import type { ConfigWriter, Tx } from './config-store.js';
import { missingForeignKey, notFound, primaryKeyViolation, uniqueViolation } from './errors.js';
import { paginate, tagsWhere } from './list.js';
import { routeFromRow } from './mappers.js';
import type { ListOptions, Page } from './pagination.js';
import { findService } from './services.js';

type Db = PrismaClient | Tx;

export function findRoute(db: Db, key: string): Promise<RouteRow | null> {
  return isUuid(key)
    ? db.route.findUnique({ where: { id: key.toLowerCase() } })
    : db.route.findUnique({ where: { name: key } });
}

const json = (value: unknown) => (value === null ? null : (value as Prisma.InputJsonValue));

function columns(input: RouteInput, serviceId: string | null) {
  return {
    name: input.name,
    protocols: input.protocols,
    methods: input.methods ?? [],
    hosts: input.hosts ?? [],
    paths: input.paths ?? [],
    headers: json(input.headers) ?? undefined,
    snis: input.snis ?? [],
    sources: json(input.sources) ?? undefined,
    destinations: json(input.destinations) ?? undefined,
    regex_priority: input.regex_priority,
    strip_path: input.strip_path,
    path_handling: input.path_handling,
    preserve_host: input.preserve_host,
    https_redirect_status_code: input.https_redirect_status_code,
    request_buffering: input.request_buffering,
    response_buffering: input.response_buffering,
    service_id: serviceId,
    tags: input.tags ?? [],
  };
}

/** Prisma writes SQL NULL into a nullable Json column only when told to explicitly. */
function withJsonNulls(data: ReturnType<typeof columns>, input: RouteInput) {
  const { DbNull } = Prisma;
  return {
    ...data,
    headers: input.headers === null ? DbNull : data.headers,
    sources: input.sources === null ? DbNull : data.sources,
    destinations: input.destinations === null ? DbNull : data.destinations,
  };
}

async function resolveService(tx: Tx, ref: RouteInput['service']): Promise<string | null> {
  if (ref === null) return null;
  const key = 'id' in ref ? ref.id : ref.name;
  const row =
    'id' in ref ? await tx.service.findUnique({ where: { id: ref.id } }) : await findService(tx, key);
  if (!row) throw missingForeignKey('service', 'id' in ref ? { id: ref.id } : { name: ref.name }, 'services');
  return row.id;
}

async function assertNameFree(tx: Tx, name: string | null, selfId: string) {
  if (name === null) return;
  const other = await tx.route.findUnique({ where: { name } });
  if (other && other.id !== selfId) throw uniqueViolation('name', name);
}

export interface RouteListOptions extends ListOptions {
  /** Only routes of this service (id or name); 404 if it does not exist. */
  service?: string | undefined;
}

/** Kong's routes endpoints (top-level and nested under a service) over Prisma. */
export class RouteRepository {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly write: ConfigWriter,
  ) {}

  async list(options: RouteListOptions = {}): Promise<Page<Route>> {
    let serviceId: string | undefined;
    if (options.service !== undefined) {
      const service = await findService(this.prisma, options.service);
      if (!service) throw notFound();
      serviceId = service.id;
    }
    return paginate(
      options,
      ({ where, take }) =>
        this.prisma.route.findMany({
          where: { ...where, ...tagsWhere(options), ...(serviceId ? { service_id: serviceId } : {}) },
          orderBy: { id: 'asc' },
          take,
        }),
      routeFromRow,
    );
  }

  async get(key: string): Promise<Route> {
    const row = await findRoute(this.prisma, key);
    if (!row) throw notFound();
    return routeFromRow(row);
  }

  /** POST /routes, or POST /services/{service}/routes when `service` is given. */
  async create(body: unknown, options: { service?: string } = {}): Promise<Route> {
    let raw = body;
    if (options.service !== undefined) {
      const service = await findService(this.prisma, options.service);
      if (!service) throw notFound();
      if (raw && typeof raw === 'object' && !Array.isArray(raw))
        raw = { ...raw, service: { id: service.id } };
    }
    const input = validateRoute(raw);
    return this.write(async (tx) => {
      const id = input.id ?? randomUUID();
      if (input.id && (await tx.route.findUnique({ where: { id } }))) throw primaryKeyViolation(id);
      await assertNameFree(tx, input.name, id);
      const serviceId = await resolveService(tx, input.service);
      const now = new Date();
      const row = await tx.route.create({
        data: { id, ...withJsonNulls(columns(input, serviceId), input), created_at: now, updated_at: now },
      });
      return routeFromRow(row);
    });
  }

  async update(key: string, body: unknown): Promise<Route> {
    return this.write(async (tx) => {
      const existing = await findRoute(tx, key);
      if (!existing) throw notFound();
      const input = validateRoute(body, { base: routeFromRow(existing) });
      await assertNameFree(tx, input.name, existing.id);
      const serviceId = await resolveService(tx, input.service);
      const row = await tx.route.update({
        where: { id: existing.id },
        data: { ...withJsonNulls(columns(input, serviceId), input), updated_at: new Date() },
      });
      return routeFromRow(row);
    });
  }

  async upsert(key: string, body: unknown): Promise<{ route: Route; created: boolean }> {
    const byId = isUuid(key);
    const raw = body && typeof body === 'object' && !Array.isArray(body) ? { ...body } : body;
    if (raw && typeof raw === 'object') {
      delete (raw as Record<string, unknown>).id;
      if (!byId) (raw as Record<string, unknown>).name = key;
    }
    const input = validateRoute(raw);
    return this.write(async (tx) => {
      const existing = await findRoute(tx, key);
      const id = existing?.id ?? (byId ? key.toLowerCase() : randomUUID());
      await assertNameFree(tx, input.name, id);
      const serviceId = await resolveService(tx, input.service);
      const now = new Date();
      const data = { ...withJsonNulls(columns(input, serviceId), input), updated_at: now };
      const row = existing
        ? await tx.route.update({ where: { id }, data })
        : await tx.route.create({ data: { id, ...data, created_at: now } });
      return { route: routeFromRow(row), created: !existing };
    });
  }

  async delete(key: string): Promise<void> {
    const existing = await findRoute(this.prisma, key);
    if (!existing) return;
    await this.write(async (tx) => {
      await tx.route.deleteMany({ where: { id: existing.id } });
    });
  }
}

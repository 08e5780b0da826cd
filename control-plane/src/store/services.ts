import { randomUUID } from 'node:crypto';
import { isUuid, validateService, type Service, type ServiceInput } from '@gatehouse/shared';
import type { PrismaClient, Service as ServiceRow } from '../generated/prisma/client.js';
import type { ConfigWriter, Tx } from './config-store.js';
import { notFound, primaryKeyViolation, referencedBy, uniqueViolation } from './errors.js';
import { resolveRef } from './entity-repository.js';
import { paginate, tagsWhere } from './list.js';
import { serviceFromRow } from './mappers.js';
import type { ListOptions, Page } from './pagination.js';

type Db = PrismaClient | Tx;

/** Finds a service by id (when `key` is a UUID) or by name, as Kong's endpoints do. */
export function findService(db: Db, key: string): Promise<ServiceRow | null> {
  return isUuid(key)
    ? db.service.findUnique({ where: { id: key.toLowerCase() } })
    : db.service.findUnique({ where: { name: key } });
}

function columns(input: ServiceInput) {
  return {
    name: input.name,
    protocol: input.protocol,
    host: input.host,
    port: input.port,
    path: input.path,
    retries: input.retries,
    connect_timeout: input.connect_timeout,
    write_timeout: input.write_timeout,
    read_timeout: input.read_timeout,
    enabled: input.enabled,
    tags: input.tags ?? [],
    client_certificate_id: input.client_certificate?.id ?? null,
    tls_verify: input.tls_verify,
    tls_verify_depth: input.tls_verify_depth,
    ca_certificates: input.ca_certificates ?? [],
  };
}

/** Kong's services endpoints over Prisma. Bodies are validated here (shared/entities rules). */
export class ServiceRepository {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly write: ConfigWriter,
  ) {}

  list(options: ListOptions = {}): Promise<Page<Service>> {
    return paginate(
      options,
      ({ where, take }) =>
        this.prisma.service.findMany({
          where: { ...where, ...tagsWhere(options) },
          orderBy: { id: 'asc' },
          take,
        }),
      serviceFromRow,
    );
  }

  async get(key: string): Promise<Service> {
    const row = await findService(this.prisma, key);
    if (!row) throw notFound();
    return serviceFromRow(row);
  }

  async create(body: unknown): Promise<Service> {
    const input = validateService(body);
    return this.write(async (tx) => {
      const id = input.id ?? randomUUID();
      if (input.id && (await tx.service.findUnique({ where: { id } }))) throw primaryKeyViolation(id);
      await assertNameFree(tx, input.name, id);
      await resolveRef(tx, 'client_certificate', 'certificates', input.client_certificate);
      const now = new Date();
      const row = await tx.service.create({
        data: { id, ...columns(input), created_at: now, updated_at: now },
      });
      return serviceFromRow(row);
    });
  }

  /** PATCH: the body's fields over the stored service, validated as a whole. */
  async update(key: string, body: unknown): Promise<Service> {
    return this.write(async (tx) => {
      const existing = await findService(tx, key);
      if (!existing) throw notFound();
      const input = validateService(body, { base: serviceFromRow(existing) });
      await assertNameFree(tx, input.name, existing.id);
      await resolveRef(tx, 'client_certificate', 'certificates', input.client_certificate);
      const row = await tx.service.update({
        where: { id: existing.id },
        data: { ...columns(input), updated_at: new Date() },
      });
      return serviceFromRow(row);
    });
  }

  /** PUT: creates or replaces the service at `key` (an id, or a name that the service then carries). */
  async upsert(key: string, body: unknown): Promise<{ service: Service; created: boolean }> {
    const byId = isUuid(key);
    const raw = body && typeof body === 'object' && !Array.isArray(body) ? { ...body } : body;
    if (raw && typeof raw === 'object') {
      delete (raw as Record<string, unknown>).id;
      if (!byId) (raw as Record<string, unknown>).name = key;
    }
    const input = validateService(raw);
    return this.write(async (tx) => {
      const existing = await findService(tx, key);
      const id = existing?.id ?? (byId ? key.toLowerCase() : randomUUID());
      await assertNameFree(tx, input.name, id);
      await resolveRef(tx, 'client_certificate', 'certificates', input.client_certificate);
      const now = new Date();
      const data = { ...columns(input), updated_at: now };
      const row = existing
        ? await tx.service.update({ where: { id }, data })
        : await tx.service.create({ data: { id, ...data, created_at: now } });
      return { service: serviceFromRow(row), created: !existing };
    });
  }

  /** DELETE: idempotent (absent => nothing to do); refused while routes reference the service. */
  async delete(key: string): Promise<void> {
    const existing = await findService(this.prisma, key);
    if (!existing) return;
    await this.write(async (tx) => {
      const row = await findService(tx, key);
      if (!row) return;
      if ((await tx.route.count({ where: { service_id: row.id } })) > 0)
        throw referencedBy('routes', 'services');
      await tx.service.delete({ where: { id: row.id } });
    });
  }
}

async function assertNameFree(tx: Tx, name: string | null, selfId: string) {
  if (name === null) return;
  const other = await tx.service.findUnique({ where: { name } });
  if (other && other.id !== selfId) throw uniqueViolation('name', name);
}

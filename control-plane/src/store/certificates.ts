import { ENTITIES, isUuid, validateCertificate, type Certificate } from '@gatehouse/shared';
import { randomUUID } from 'node:crypto';
import type { PrismaClient } from '../generated/prisma/client.js';
import { EntityRepository, assertUnique, type ParentScope } from './entity-repository.js';
import { delegate, type Db, type StoredRow } from './generic-rows.js';
import type { ListOptions, Page } from './pagination.js';
import type { ConfigWriter, Tx } from './tx.js';

export type CertificateView = Certificate & { snis: string[] };

/**
 * Kong's certificates: `/certificates/{id or SNI name}`; the transient `snis` input creates
 * (or, on update, replaces) the certificate's SNIs; responses list the SNI names.
 */
export class CertificateRepository extends EntityRepository<CertificateView> {
  constructor(prisma: PrismaClient, write: ConfigWriter) {
    super(ENTITIES.certificates, prisma, write, {
      validate: (body, base) => validateCertificate(body, { base: base as Partial<Certificate> | undefined }),
      afterWrite: (tx, entity, input) => this.writeSnis(tx, entity, input),
    });
  }

  override async find(db: Db, key: string, parent?: ParentScope): Promise<StoredRow | null> {
    const row = await super.find(db, key, parent);
    if (row || isUuid(key)) return row;
    const sni = await delegate(db, 'snis').findFirst({ where: { name: (key as string).toLowerCase() } });
    return sni ? delegate(db, 'certificates').findUnique({ where: { id: sni.certificate_id } }) : null;
  }

  override async get(key: string): Promise<CertificateView> {
    const cert = await super.get(key);
    return { ...cert, snis: await this.sniNames(this.prisma, cert.id) };
  }

  override async list(options: ListOptions = {}): Promise<Page<CertificateView>> {
    const page = await super.list(options);
    for (const cert of page.data) cert.snis = await this.sniNames(this.prisma, cert.id);
    return page;
  }

  private async sniNames(db: Db, certificateId: string): Promise<string[]> {
    const rows = await delegate(db, 'snis').findMany({
      where: { certificate_id: certificateId },
      orderBy: { name: 'asc' },
    });
    return rows.map((r) => r.name as string);
  }

  private async writeSnis(tx: Tx, entity: Record<string, unknown>, input: Record<string, unknown>) {
    const id = entity.id as string;
    const names = input.snis as string[] | undefined;
    if (names) {
      const d = delegate(tx, 'snis');
      await d.deleteMany({ where: { certificate_id: id, NOT: { name: { in: names } } } });
      for (const name of names) {
        const existing = await d.findFirst({ where: { name } });
        if (existing && existing.certificate_id === id) continue;
        const sniId = randomUUID();
        await assertUnique(tx, ENTITIES.snis, { name }, sniId);
        const now = new Date();
        await d.create({
          data: { id: sniId, name, certificate_id: id, tags: [], created_at: now, updated_at: now },
        });
      }
    }
    return { ...entity, snis: await this.sniNames(tx, id) };
  }
}

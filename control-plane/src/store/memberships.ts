import {
  consumerGroupMembershipId,
  ENTITIES,
  type Consumer,
  type ConsumerGroup,
  type Plugin,
} from '@gatehouse/shared';
import type { PrismaClient } from '../generated/prisma/client.js';
import { missingForeignKey, notFound, uniqueViolationOn } from './errors.js';
import { delegate, entityFromRow, findByKey, type Db } from './generic-rows.js';
import { paginate, tagsWhere } from './list.js';
import type { ListOptions, Page } from './pagination.js';
import type { ConfigWriter } from './tx.js';
import { schemaViolation } from '@gatehouse/shared';
import type { ChangeLog } from '../audit/objects.js';

const MEMBERSHIPS = ENTITIES.consumer_group_consumers;

const asList = (v: unknown): unknown[] => (Array.isArray(v) ? v : v === undefined || v === null ? [] : [v]);

/**
 * Consumer-group membership (Kong's consumer_group_consumers): `/consumer_groups/{g}/consumers`
 * and `/consumers/{c}/consumer_groups`. Membership ids are derived from the pair.
 */
export class MembershipRepository {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly write: ConfigWriter,
  ) {}

  private async group(db: Db, key: string) {
    const row = await findByKey(db, ENTITIES.consumer_groups, key);
    if (!row) throw notFound();
    return entityFromRow<ConsumerGroup>(ENTITIES.consumer_groups, row);
  }

  private async consumer(db: Db, key: string) {
    const row = await findByKey(db, ENTITIES.consumers, key);
    if (!row) throw notFound();
    return entityFromRow<Consumer>(ENTITIES.consumers, row);
  }

  /**
   * `GET /consumer_groups/{g}` as Kong Enterprise answers it: the group, its consumers (left out
   * with `listConsumers: false`, Kong's `?list_consumers=false`) and the plugins scoped to it.
   */
  async view(groupKey: string, options: { listConsumers: boolean }) {
    const group = await this.group(this.prisma, groupKey);
    const plugins = (
      await delegate(this.prisma, 'plugins').findMany({
        where: { consumer_group_id: group.id },
        orderBy: { id: 'asc' },
      })
    ).map((row) => entityFromRow<Plugin>(ENTITIES.plugins, row));
    if (!options.listConsumers) return { consumer_group: group, plugins };
    const consumers = (
      await delegate(this.prisma, 'consumers').findMany({
        where: { memberships: { some: { consumer_group_id: group.id } } },
        orderBy: { id: 'asc' },
      })
    ).map((row) => entityFromRow<Consumer>(ENTITIES.consumers, row));
    return { consumer_group: group, consumers, plugins };
  }

  /** Consumers in a group (a page, Kong's list shape). */
  async consumersOf(groupKey: string, options: ListOptions = {}): Promise<Page<Consumer>> {
    const group = await this.group(this.prisma, groupKey);
    return paginate(
      options,
      ({ where, orderBy, take }) =>
        delegate(this.prisma, 'consumers').findMany({
          where: { ...where, ...tagsWhere(options), memberships: { some: { consumer_group_id: group.id } } },
          orderBy,
          take,
        }),
      (row) => entityFromRow<Consumer>(ENTITIES.consumers, row),
      { db: this.prisma, record: ENTITIES.consumers },
    );
  }

  /** Groups of a consumer. */
  async groupsOf(consumerKey: string, options: ListOptions = {}): Promise<Page<ConsumerGroup>> {
    const consumer = await this.consumer(this.prisma, consumerKey);
    return paginate(
      options,
      ({ where, orderBy, take }) =>
        delegate(this.prisma, 'consumer_groups').findMany({
          where: { ...where, ...tagsWhere(options), members: { some: { consumer_id: consumer.id } } },
          orderBy,
          take,
        }),
      (row) => entityFromRow<ConsumerGroup>(ENTITIES.consumer_groups, row),
      { db: this.prisma, record: ENTITIES.consumer_groups },
    );
  }

  /** POST /consumer_groups/{g}/consumers `{ consumer: key | key[] }` => `{ consumer_group, consumers }`. */
  async addConsumers(groupKey: string, body: unknown) {
    const keys = asList((body as Record<string, unknown> | undefined)?.consumer);
    if (keys.length === 0 || keys.some((k) => typeof k !== 'string' || k === ''))
      throw schemaViolation({ consumer: 'required field missing' });
    return this.write(async (tx, _version, log) => {
      const group = await this.group(tx, groupKey);
      const consumers: Consumer[] = [];
      for (const key of keys as string[]) {
        const row = await findByKey(tx, ENTITIES.consumers, key);
        if (!row) throw missingForeignKey('consumer', { id: key }, 'consumers');
        const consumer = entityFromRow<Consumer>(ENTITIES.consumers, row);
        await this.link(tx, group.id, consumer.id, log);
        consumers.push(consumer);
      }
      return { consumer_group: group, consumers };
    });
  }

  /** POST /consumers/{c}/consumer_groups `{ group: key | key[] }` => `{ consumer, consumer_groups }`. */
  async addGroups(consumerKey: string, body: unknown) {
    const keys = asList((body as Record<string, unknown> | undefined)?.group);
    if (keys.length === 0 || keys.some((k) => typeof k !== 'string' || k === ''))
      throw schemaViolation({ group: 'required field missing' });
    return this.write(async (tx, _version, log) => {
      const consumer = await this.consumer(tx, consumerKey);
      const groups: ConsumerGroup[] = [];
      for (const key of keys as string[]) {
        const row = await findByKey(tx, ENTITIES.consumer_groups, key);
        if (!row) throw missingForeignKey('group', { name: key }, 'consumer_groups');
        const group = entityFromRow<ConsumerGroup>(ENTITIES.consumer_groups, row);
        await this.link(tx, group.id, consumer.id, log);
        groups.push(group);
      }
      return { consumer, consumer_groups: groups };
    });
  }

  private async link(tx: Db, groupId: string, consumerId: string, log: ChangeLog) {
    const d = delegate(tx, 'consumer_group_consumers');
    if (await d.findFirst({ where: { consumer_group_id: groupId, consumer_id: consumerId } }))
      throw uniqueViolationOn({ consumer_group: { id: groupId }, consumer: { id: consumerId } });
    const row = await d.create({
      data: {
        id: consumerGroupMembershipId(groupId, consumerId),
        consumer_group_id: groupId,
        consumer_id: consumerId,
        created_at: new Date(),
      },
    });
    log.created(MEMBERSHIPS.kind, entityFromRow(MEMBERSHIPS, row));
  }

  /** Deletes the memberships matching `where`, noting each in `log`. */
  private async unlink(tx: Db, where: Record<string, string>, log: ChangeLog) {
    const d = delegate(tx, 'consumer_group_consumers');
    const rows = await d.findMany({ where, orderBy: { id: 'asc' } });
    await d.deleteMany({ where });
    for (const row of rows) log.deleted(MEMBERSHIPS.kind, entityFromRow(MEMBERSHIPS, row));
  }

  /** Removes one membership (204 also when absent, as Kong's deletes); 404 when group or consumer is unknown. */
  async remove(groupKey: string, consumerKey: string): Promise<void> {
    const group = await this.group(this.prisma, groupKey);
    const consumer = await this.consumer(this.prisma, consumerKey);
    const d = delegate(this.prisma, 'consumer_group_consumers');
    if (!(await d.findFirst({ where: { consumer_group_id: group.id, consumer_id: consumer.id } }))) return;
    await this.write(async (tx, _version, log) => {
      await this.unlink(tx, { consumer_group_id: group.id, consumer_id: consumer.id }, log);
    });
  }

  /** DELETE /consumers/{c}/consumer_groups: takes the consumer out of every group. */
  async removeFromAll(consumerKey: string): Promise<void> {
    const consumer = await this.consumer(this.prisma, consumerKey);
    const where = { consumer_id: consumer.id };
    if ((await delegate(this.prisma, 'consumer_group_consumers').count({ where })) === 0) return;
    await this.write(async (tx, _version, log) => {
      await this.unlink(tx, where, log);
    });
  }

  /** DELETE /consumer_groups/{g}/consumers: empties the group. */
  async removeAll(groupKey: string): Promise<void> {
    const group = await this.group(this.prisma, groupKey);
    if (
      (await delegate(this.prisma, 'consumer_group_consumers').count({
        where: { consumer_group_id: group.id },
      })) === 0
    )
      return;
    await this.write(async (tx, _version, log) => {
      await this.unlink(tx, { consumer_group_id: group.id }, log);
    });
  }
}

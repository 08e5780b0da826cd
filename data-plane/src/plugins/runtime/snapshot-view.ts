import type { Consumer, ConsumerGroup, GatehouseConfig } from '@gatehouse/shared';
import type { SnapshotView } from '../api.js';

const NO_GROUPS: readonly ConsumerGroup[] = Object.freeze([]);

/** The snapshot's consumers and groups, indexed once per apply. */
export class SnapshotIndex implements SnapshotView {
  private readonly consumersById = new Map<string, Consumer>();
  private readonly consumersByUsername = new Map<string, Consumer>();
  private readonly groups = new Map<string, ConsumerGroup[]>();
  private readonly memos = new Map<string, unknown>();

  constructor(readonly config: GatehouseConfig) {
    for (const c of config.consumers) {
      this.consumersById.set(c.id, c);
      if (c.username !== null) this.consumersByUsername.set(c.username, c);
    }
    const groupById = new Map(config.consumer_groups.map((g) => [g.id, g]));
    for (const m of config.consumer_group_consumers) {
      const g = groupById.get(m.consumer_group.id);
      if (g === undefined) continue;
      let list = this.groups.get(m.consumer.id);
      if (list === undefined) this.groups.set(m.consumer.id, (list = []));
      list.push(g);
    }
    // Kong orders a consumer's groups by name.
    for (const list of this.groups.values())
      list.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  consumer(id: string): Consumer | undefined {
    return this.consumersById.get(id);
  }

  findConsumer(idOrUsername: string): Consumer | undefined {
    return this.consumersById.get(idOrUsername) ?? this.consumersByUsername.get(idOrUsername);
  }

  groupsOf(consumerId: string): readonly ConsumerGroup[] {
    return this.groups.get(consumerId) ?? NO_GROUPS;
  }

  memo<T>(key: string, build: () => T): T {
    if (this.memos.has(key)) return this.memos.get(key) as T;
    const v = build();
    this.memos.set(key, v);
    return v;
  }
}

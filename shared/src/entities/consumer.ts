import { createHash } from 'node:crypto';
import type { Consumer, ConsumerGroup } from '../config/model.js';
import { stripReadOnly } from './common.js';
import * as td from '../schema/typedefs.js';
import type { RecordField } from '../schema/types.js';
import { checkEntity, throwIfErrors } from './validate.js';

export type ConsumerInput = Omit<Consumer, 'id' | 'created_at' | 'updated_at'> & { id?: string };
export type ConsumerGroupInput = Omit<ConsumerGroup, 'id' | 'created_at' | 'updated_at'> & { id?: string };

/** Kong's consumers schema: at least one of `username`, `custom_id`. */
export const consumerSchema: RecordField = {
  type: 'record',
  fields: {
    id: td.id(),
    created_at: td.autoTimestamp(),
    updated_at: td.autoTimestamp(),
    username: td.indexedText(),
    custom_id: td.indexedText(),
    tags: td.tags(),
  },
  entity_checks: [{ at_least_one_of: ['custom_id', 'username'] }],
};

/** Kong's consumer_groups schema (`name` required, Kong's name charset). */
export const consumerGroupSchema: RecordField = {
  type: 'record',
  fields: {
    id: td.id(),
    created_at: td.autoTimestamp(),
    updated_at: td.autoTimestamp(),
    name: td.name({ required: true }),
    tags: td.tags(),
  },
};

/** A consumer's membership in a consumer group (Kong's consumer_group_consumers). */
export const consumerGroupConsumerSchema: RecordField = {
  type: 'record',
  fields: {
    id: td.id(),
    consumer_group: td.foreign('consumer_groups', { required: true }),
    consumer: td.foreign('consumers', { required: true }),
    created_at: td.autoTimestamp(),
  },
};

/** Validates a consumer: at least one of `username`, `custom_id` (Kong's message). */
export function validateConsumer(input: unknown, options: { base?: Partial<Consumer> } = {}): ConsumerInput {
  const base = options.base ? stripReadOnly(options.base) : undefined;
  const { values, errors } = checkEntity(consumerSchema, input, base);
  throwIfErrors(errors);
  const v = values as unknown as ConsumerInput;
  const out: ConsumerInput = { username: v.username, custom_id: v.custom_id, tags: v.tags ?? null };
  if (v.id) out.id = v.id;
  return out;
}

/** Validates a consumer group (`name` required, Kong's name charset). */
export function validateConsumerGroup(
  input: unknown,
  options: { base?: Partial<ConsumerGroup> } = {},
): ConsumerGroupInput {
  const base = options.base ? stripReadOnly(options.base) : undefined;
  const { values, errors } = checkEntity(consumerGroupSchema, input, base);
  throwIfErrors(errors);
  const v = values as unknown as ConsumerGroupInput;
  const out: ConsumerGroupInput = { name: v.name, tags: v.tags ?? null };
  if (v.id) out.id = v.id;
  return out;
}

/**
 * The id of a consumer's membership in a consumer group: a name-based UUID (version 5 layout,
 * SHA-1) of the pair, so the same membership has the same id in the database, declarative
 * files and snapshots.
 */
export function consumerGroupMembershipId(consumerGroupId: string, consumerId: string): string {
  const hash = createHash('sha1')
    .update(`gatehouse:consumer_group_consumers:${consumerGroupId.toLowerCase()}:${consumerId.toLowerCase()}`)
    .digest();
  hash[6] = (hash[6]! & 0x0f) | 0x50;
  hash[8] = (hash[8]! & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

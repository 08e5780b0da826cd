import { createHash } from 'node:crypto';
import type { Consumer, ConsumerGroup } from '../config/model.js';
import { stripReadOnly } from './common.js';
import * as f from './fields.js';
import { addEntityError, emptyToNull, throwIfErrors, validateFields, type Specs } from './validate.js';

export type ConsumerInput = Omit<Consumer, 'id' | 'created_at' | 'updated_at'> & { id?: string };
export type ConsumerGroupInput = Omit<ConsumerGroup, 'id' | 'created_at' | 'updated_at'> & { id?: string };

const readOnly: Specs = {
  id: { kind: 'string', nullable: true, validate: f.uuid },
  created_at: { kind: 'ignored', nullable: true, validate: f.timestamp },
  updated_at: { kind: 'ignored', nullable: true, validate: f.timestamp },
};
const tags = { kind: 'set' as const, nullable: true, default: null, validate: f.set(f.tag) };

export const CONSUMER_FIELDS: Specs = {
  ...readOnly,
  username: { kind: 'string', nullable: true, default: null, validate: f.string },
  custom_id: { kind: 'string', nullable: true, default: null, validate: f.string },
  tags,
};

export const CONSUMER_GROUP_FIELDS: Specs = {
  ...readOnly,
  name: { kind: 'string', nullable: false, validate: f.name },
  tags,
};

/** Validates a consumer: at least one of `username`, `custom_id` (Kong's message). */
export function validateConsumer(input: unknown, options: { base?: Partial<Consumer> } = {}): ConsumerInput {
  const base = options.base ? stripReadOnly(options.base) : undefined;
  const { values, errors } = validateFields(input, CONSUMER_FIELDS, { base });
  const v = values as unknown as ConsumerInput;
  if (Object.keys(errors).length === 0 && v.username === null && v.custom_id === null)
    addEntityError(errors, "at least one of these fields must be non-empty: 'custom_id', 'username'");
  throwIfErrors(errors);
  const out: ConsumerInput = { username: v.username, custom_id: v.custom_id, tags: emptyToNull(v.tags) };
  if (v.id) out.id = v.id;
  return out;
}

/** Validates a consumer group (`name` required, Kong's name charset). */
export function validateConsumerGroup(
  input: unknown,
  options: { base?: Partial<ConsumerGroup> } = {},
): ConsumerGroupInput {
  const base = options.base ? stripReadOnly(options.base) : undefined;
  const { values, errors } = validateFields(input, CONSUMER_GROUP_FIELDS, { base });
  throwIfErrors(errors);
  const v = values as unknown as ConsumerGroupInput;
  const out: ConsumerGroupInput = { name: v.name, tags: emptyToNull(v.tags) };
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

import type { Target } from '../config/model.js';
import { stripReadOnly } from './common.js';
import * as f from './fields.js';
import * as k from './kong-fields.js';
import { emptyToNull, throwIfErrors, validateFields, type Specs } from './validate.js';

/** An upstream reference as a client writes it: by id or by name (resolved by the store). */
export type UpstreamReference = { id: string } | { name: string };

export type TargetInput = Omit<Target, 'id' | 'created_at' | 'updated_at' | 'upstream'> & {
  id?: string;
  upstream: UpstreamReference;
};

export const TARGET_FIELDS: Specs = {
  id: { kind: 'string', nullable: true, validate: f.uuid },
  created_at: { kind: 'ignored', nullable: true, validate: k.number(0, Number.MAX_SAFE_INTEGER) },
  updated_at: { kind: 'ignored', nullable: true, validate: k.number(0, Number.MAX_SAFE_INTEGER) },
  upstream: { kind: 'foreign', nullable: false, validate: f.foreignKey({ byName: true }) },
  target: { kind: 'string', nullable: false, validate: k.target },
  weight: { kind: 'integer', nullable: false, default: 100, validate: f.integer(0, 65535) },
  tags: { kind: 'set', nullable: true, default: null, validate: f.set(f.tag) },
};

/** Validates a target: `target` normalised to `host:port` (port 8000 when omitted), weight 0-65535 (default 100). */
export function validateTarget(input: unknown, options: { base?: Partial<Target> } = {}): TargetInput {
  const base = options.base ? stripReadOnly(options.base) : undefined;
  const { values, errors } = validateFields(input, TARGET_FIELDS, { base });
  throwIfErrors(errors);
  const v = values as unknown as TargetInput;
  const out: TargetInput = {
    upstream: v.upstream,
    target: v.target,
    weight: v.weight,
    tags: emptyToNull(v.tags),
  };
  if (v.id) out.id = v.id;
  return out;
}

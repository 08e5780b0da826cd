import type { Target } from '../config/model.js';
import { parseHostPort } from '../schema/hosts.js';
import * as td from '../schema/typedefs.js';
import type { RecordField } from '../schema/types.js';
import { isPlainObject } from '../schema/values.js';
import { stripReadOnly } from './common.js';
import { schemaViolation } from './errors.js';
import { upstreamSchema } from './upstream.js';
import { checkEntity, throwIfErrors } from './validate.js';

/** An upstream reference as a client writes it: by id or by name (resolved by the store). */
export type UpstreamReference = { id: string } | { name: string };

export type TargetInput = Omit<Target, 'id' | 'created_at' | 'updated_at' | 'upstream'> & {
  id?: string;
  upstream: UpstreamReference;
};

export const DEFAULT_TARGET_PORT = 8000;

/** Kong's schema message (declarative files, `/schemas/targets/validate`). */
const invalidTarget = (s: string) => `Invalid target ('${s}'); not a valid hostname or ip address`;

/** True if `target` is a string that is not `host[:port]`. */
const isInvalidTarget = (target: unknown): boolean => {
  if (typeof target !== 'string' || target.length === 0 || target.length > td.HOST_PORT_MAX) return false;
  const parsed = parseHostPort(target);
  return !parsed || parsed === 'invalid port number';
};

/** Kong's targets schema: `target` is `host[:port]`, stored as `host:port` (port 8000 when omitted). */
export const targetSchema: RecordField = {
  type: 'record',
  fields: {
    id: td.id(),
    created_at: td.autoTimestampMs(),
    updated_at: td.autoTimestampMs(),
    upstream: td.foreign('upstreams', { required: true, by_name: true, schema: () => upstreamSchema }),
    target: td.text({
      required: true,
      len_max: td.HOST_PORT_MAX,
      custom_validator: (s) => {
        const parsed = parseHostPort(s);
        return !parsed || parsed === 'invalid port number' ? invalidTarget(s) : null;
      },
      normalize: (s) => {
        const parsed = parseHostPort(s) as Exclude<ReturnType<typeof parseHostPort>, string | undefined>;
        return `${parsed.host}:${parsed.port ?? DEFAULT_TARGET_PORT}`;
      },
    }),
    weight: { type: 'integer', required: true, default: 100, between: [0, 65535] },
    tags: td.tags(),
  },
};

/** Validates a target: `target` normalised to `host:port` (port 8000 when omitted), weight 0-65535 (default 100). */
export function validateTarget(input: unknown, options: { base?: Partial<Target> } = {}): TargetInput {
  // Kong's targets DAO formats `target` before the schema runs: an invalid one is the only message.
  if (isPlainObject(input) && isInvalidTarget(input.target))
    throw schemaViolation({ target: 'Invalid target; not a valid hostname or ip address' });
  const base = options.base ? stripReadOnly(options.base) : undefined;
  const { values, errors } = checkEntity(targetSchema, input, base);
  throwIfErrors(errors);
  const v = values as unknown as TargetInput;
  const out: TargetInput = {
    upstream: v.upstream,
    target: v.target,
    weight: v.weight,
    tags: v.tags ?? null,
  };
  if (v.id) out.id = v.id;
  return out;
}

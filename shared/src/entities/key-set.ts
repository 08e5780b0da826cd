import type { KeySet } from '../config/model.js';
import * as td from '../schema/typedefs.js';
import type { RecordField } from '../schema/types.js';
import { stripReadOnly } from './common.js';
import { checkEntity, throwIfErrors } from './validate.js';

export type KeySetInput = Omit<KeySet, 'id' | 'created_at' | 'updated_at'> & { id?: string };

/** Kong's key_sets schema (kong/db/schema/entities/key_sets.lua): an optional unique `name`. */
export const keySetSchema: RecordField = {
  type: 'record',
  fields: {
    id: td.id(),
    name: td.indexedText({ description: 'The name to associate with the given Key Set.' }),
    tags: td.tags(),
    created_at: td.autoTimestamp(),
    updated_at: td.autoTimestamp(),
  },
};

export function validateKeySet(input: unknown, options: { base?: Partial<KeySet> } = {}): KeySetInput {
  const base = options.base ? stripReadOnly(options.base) : undefined;
  const { values, errors } = checkEntity(keySetSchema, input, base);
  throwIfErrors(errors);
  const v = values as unknown as KeySetInput;
  const out: KeySetInput = { name: v.name ?? null, tags: v.tags ?? null };
  if (v.id) out.id = v.id;
  return out;
}

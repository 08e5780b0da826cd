import type { Field, RecordField } from '../schema/types.js';
import { isPlainObject, putOwn } from '../schema/values.js';

export type FormInput = Record<string, string | string[] | undefined>;

/** How a form value is read for a field, from the field's type. */
type FormKind = 'integer' | 'number' | 'boolean' | 'list' | 'keyed' | 'map' | 'text';

function formKind(field: Field): FormKind {
  // Read-only fields are not written by clients: their form values stay strings.
  if (field.auto === true && field.type !== 'string') return 'text';
  switch (field.type) {
    case 'integer':
    case 'number':
    case 'boolean':
      return field.type;
    case 'set':
    case 'array':
      return field.elements.type === 'record' ? 'text' : 'list';
    case 'map':
      return 'map';
    case 'foreign':
      return 'keyed';
    default:
      return 'text';
  }
}

/**
 * Turns form-encoded input (every value a string, as Kong's Admin API accepts it) into the JSON
 * shape the validators expect, using the field types of `schema`: `port=80` -> 80,
 * `enabled=false` -> false, `methods=GET&methods=POST` or `methods[]=GET` -> ["GET"],
 * `service.id=<uuid>` -> { id }, `headers.x-env=prod` -> { "x-env": ["prod"] }, `name=` -> null.
 * Values that do not coerce are passed through so the validator reports them.
 */
export function coerceFormInput(form: FormInput, schema: RecordField): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [rawKey, rawValue] of Object.entries(form)) {
    if (rawValue === undefined) continue;
    const values = Array.isArray(rawValue) ? rawValue : [rawValue];
    const key = rawKey.replace(/\[\d*\]$/, '');
    const dot = key.indexOf('.');
    const name = dot === -1 ? key : key.slice(0, dot);
    const sub = dot === -1 ? undefined : key.slice(dot + 1);
    const field = Object.hasOwn(schema.fields, name) ? schema.fields[name] : undefined;
    if (!field) {
      putOwn(out, key, rawValue);
      continue;
    }
    const last = values[values.length - 1] ?? '';
    const kind = formKind(field);
    switch (kind) {
      case 'integer':
        out[name] = last === '' ? null : /^-?\d+$/.test(last) ? Number(last) : last;
        break;
      case 'number':
        out[name] = last === '' ? null : /^-?\d+(\.\d+)?$/.test(last) ? Number(last) : last;
        break;
      case 'boolean':
        out[name] = last === '' ? null : last === 'true' ? true : last === 'false' ? false : last;
        break;
      case 'list': {
        const prev = Array.isArray(out[name]) ? (out[name] as unknown[]) : [];
        out[name] = [...prev, ...values.filter((v) => v !== '')];
        break;
      }
      case 'map':
      case 'keyed': {
        if (sub === undefined) {
          out[name] = last === '' ? null : last;
          break;
        }
        const prev = out[name];
        const obj = isPlainObject(prev) ? prev : {};
        putOwn(obj, sub, kind === 'map' ? values : last);
        out[name] = obj;
        break;
      }
      default:
        out[name] = last === '' ? null : last;
    }
  }
  return out;
}

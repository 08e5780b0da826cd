import type { Specs } from './validate.js';

export type FormInput = Record<string, string | string[] | undefined>;

/**
 * Turns form-encoded input (every value a string, as Kong's Admin API accepts it) into the JSON
 * shape the validators expect, using the field kinds in `specs`: `port=80` -> 80,
 * `enabled=false` -> false, `methods=GET&methods=POST` or `methods[]=GET` -> ["GET"],
 * `service.id=<uuid>` -> { id }, `headers.x-env=prod` -> { "x-env": ["prod"] }, `name=` -> null.
 * Values that do not coerce are passed through so the validator reports them.
 */
export function coerceFormInput(form: FormInput, specs: Specs): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [rawKey, rawValue] of Object.entries(form)) {
    if (rawValue === undefined) continue;
    const values = Array.isArray(rawValue) ? rawValue : [rawValue];
    const key = rawKey.replace(/\[\d*\]$/, '');
    const dot = key.indexOf('.');
    const field = dot === -1 ? key : key.slice(0, dot);
    const sub = dot === -1 ? undefined : key.slice(dot + 1);
    const spec = specs[field];
    if (!spec) {
      out[key] = rawValue;
      continue;
    }
    const last = values[values.length - 1] ?? '';
    switch (spec.kind) {
      case 'integer':
        out[field] = last === '' ? null : /^-?\d+$/.test(last) ? Number(last) : last;
        break;
      case 'number':
        out[field] = last === '' ? null : /^-?\d+(\.\d+)?$/.test(last) ? Number(last) : last;
        break;
      case 'boolean':
        out[field] = last === '' ? null : last === 'true' ? true : last === 'false' ? false : last;
        break;
      case 'set': {
        const prev = Array.isArray(out[field]) ? (out[field] as unknown[]) : [];
        const items = values.filter((v) => v !== '');
        out[field] = [...prev, ...items];
        break;
      }
      case 'map':
      case 'foreign': {
        if (sub === undefined) {
          out[field] = last === '' ? null : last;
          break;
        }
        const prev = out[field];
        const obj =
          prev && typeof prev === 'object' && !Array.isArray(prev) ? (prev as Record<string, unknown>) : {};
        obj[sub] = spec.kind === 'map' ? values : last;
        out[field] = obj;
        break;
      }
      default:
        out[field] = last === '' ? null : last;
    }
  }
  return out;
}

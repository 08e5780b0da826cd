/**
 * Schema-to-form generation: turns an Admin API schema (`/schemas/plugins/{name}`, Kong's format:
 * `fields` is a list of one-key objects) into field descriptors a form renders, the form's
 * starting values (defaults, or an existing entity's), and back into the JSON body to send,
 * with a message per field for what cannot be sent as typed.
 */

/** A field of a Kong schema (the parts the form uses). */
export interface SchemaField {
  type?: string;
  required?: boolean;
  default?: unknown;
  one_of?: unknown[];
  elements?: SchemaField;
  fields?: Array<Record<string, SchemaField>>;
  description?: string;
  between?: [number, number];
  /** Filled in by the server when not given; with `uuid` or `timestamp` (ids, times) never in a form. */
  auto?: boolean;
  uuid?: boolean;
  timestamp?: boolean;
  /** A `foreign` field's entity kind (`services`). */
  reference?: string;
  /** Stored encrypted or hashed (a password): typed, never shown back. */
  encrypted?: boolean;
}

export interface Schema {
  fields?: Array<Record<string, SchemaField>>;
}

export type FieldKind =
  | 'text'
  | 'number'
  | 'integer'
  | 'boolean'
  | 'select'
  | 'list'
  | 'multiselect'
  | 'json'
  | 'record'
  | 'foreign';

/** One control of a generated form. `path` is dotted (`config.key_names`), as server errors name it. */
export interface FieldSpec {
  path: string;
  label: string;
  kind: FieldKind;
  required: boolean;
  description?: string;
  options?: string[];
  /** list: the elements are numbers; select: the options are. */
  numeric?: boolean;
  children?: FieldSpec[];
  default?: unknown;
  /** foreign: the entity kind it points at (the form offers its entities by id in `options`). */
  reference?: string;
  /** select/foreign: what to show for an option (a name for an id). */
  optionLabels?: Record<string, string>;
  /** A password-like field: a password input. */
  secret?: boolean;
}

/** How an entity's fields become a form (`/schemas/{entity}`). */
export interface EntityFormOptions {
  /** Fields left out (a nested list's parent key, fields another control replaces). */
  omit?: readonly string[];
}

/** A form's values by path: text inputs hold strings, checkboxes booleans, multi-selects string lists. */
export type FormValues = Record<string, string | boolean | string[]>;

const SCALARS = new Set(['string', 'number', 'integer']);

function entries(fields: Schema['fields']): Array<[string, SchemaField]> {
  const out: Array<[string, SchemaField]> = [];
  for (const one of fields ?? []) {
    for (const [name, field] of Object.entries(one)) if (name !== '__proto__') out.push([name, field]);
  }
  return out;
}

function kindOf(f: SchemaField): FieldKind {
  switch (f.type) {
    case 'boolean':
      return 'boolean';
    case 'number':
      return f.one_of ? 'select' : 'number';
    case 'integer':
      return f.one_of ? 'select' : 'integer';
    case 'string':
      return f.one_of ? 'select' : 'text';
    case 'record':
      return 'record';
    case 'array':
    case 'set': {
      const el = f.elements ?? {};
      if (el.type === 'string' && el.one_of) return 'multiselect';
      return SCALARS.has(el.type ?? '') ? 'list' : 'json';
    }
    default:
      return 'json';
  }
}

/**
 * The form fields for a record's fields under `prefix`: server-set (`auto`) fields left out, and
 * foreign keys too unless `foreign` (then a `foreign` control whose options the caller fills).
 */
export function fieldsOf(
  fields: Schema['fields'],
  prefix = '',
  o: EntityFormOptions & { foreign?: boolean } = {},
): FieldSpec[] {
  const out: FieldSpec[] = [];
  for (const [name, f] of entries(fields)) {
    if ((f.auto && (f.uuid || f.timestamp)) || (prefix === '' && o.omit?.includes(name))) continue;
    if (f.type === 'foreign' && !o.foreign) continue;
    const path = prefix ? `${prefix}.${name}` : name;
    const kind: FieldKind = f.type === 'foreign' ? 'foreign' : kindOf(f);
    const spec: FieldSpec = { path, label: name, kind, required: f.required === true && !f.auto };
    if (f.type === 'foreign') {
      spec.reference = f.reference ?? '';
      spec.options = [];
    }
    if (f.encrypted) spec.secret = true;
    if (f.description) spec.description = f.description;
    if (f.default !== undefined) spec.default = f.default;
    if (kind === 'select') spec.options = (f.one_of ?? []).map(String);
    if (kind === 'select' && f.type !== 'string') spec.numeric = true;
    if (kind === 'multiselect') spec.options = (f.elements?.one_of ?? []).map(String);
    if (kind === 'list' && f.elements?.type !== 'string') spec.numeric = true;
    if (kind === 'record') spec.children = fieldsOf(f.fields, path);
    out.push(spec);
  }
  return out;
}

/** An entity's form fields (`/schemas/{entity}`), foreign keys as `foreign` controls. */
export function entityFields(schema: Schema, o: EntityFormOptions = {}): FieldSpec[] {
  return fieldsOf(schema.fields, '', { ...o, foreign: true });
}

function get(obj: unknown, path: string): unknown {
  let cur = obj;
  for (const key of path.split('.')) {
    if (cur === null || typeof cur !== 'object' || !Object.hasOwn(cur, key)) return undefined;
    cur = (cur as Record<string, unknown>)[key];
  }
  return cur;
}

function formValue(spec: FieldSpec, value: unknown): string | boolean | string[] {
  switch (spec.kind) {
    case 'boolean':
      return value === true;
    case 'foreign':
      return value !== null && typeof value === 'object' && typeof (value as { id?: unknown }).id === 'string'
        ? (value as { id: string }).id
        : '';
    case 'multiselect':
      return Array.isArray(value) ? value.map(String) : [];
    case 'list':
      return Array.isArray(value) ? value.map(String).join('\n') : '';
    case 'json':
      return value === undefined || value === null ? '' : JSON.stringify(value, null, 2);
    default:
      if (value === undefined || value === null) return '';
      if (typeof value === 'string') return value;
      return typeof value === 'number' || typeof value === 'boolean' ? String(value) : JSON.stringify(value);
  }
}

/** Starting values: from `entity` (editing) where it has the field, else the schema's default. */
export function initialValues(fields: FieldSpec[], entity?: unknown): FormValues {
  const out: FormValues = {};
  const walk = (specs: FieldSpec[]) => {
    for (const s of specs) {
      if (s.children) {
        walk(s.children);
        continue;
      }
      const existing = entity === undefined ? undefined : get(entity, s.path);
      out[s.path] = formValue(s, existing !== undefined ? existing : s.default);
    }
  };
  walk(fields);
  return out;
}

function set(target: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  let cur = target;
  for (const key of keys.slice(0, -1)) {
    const next = cur[key];
    if (next === undefined) cur = cur[key] = {} as Record<string, unknown>;
    else cur = next as Record<string, unknown>;
  }
  cur[keys[keys.length - 1]!] = value;
}

/** Splits a list field's text: one element per line or comma. */
export function splitList(text: string): string[] {
  return text
    .split(/[\n,]/)
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/**
 * The JSON body for the values: empty optional fields left out (the server applies its defaults),
 * numbers parsed, lists split, JSON parsed. What cannot be parsed is a message under its path.
 * With `initial` (editing: the values the form started from), only what the user changed is sent,
 * and a field emptied is sent as null (a PATCH; a hashed password is never sent back).
 */
export function toPayload(
  fields: FieldSpec[],
  values: FormValues,
  initial?: FormValues,
): { body: Record<string, unknown>; errors: Record<string, string> } {
  const body: Record<string, unknown> = {};
  const errors: Record<string, string> = {};
  const walk = (specs: FieldSpec[]) => {
    for (const s of specs) {
      if (s.children) {
        walk(s.children);
        continue;
      }
      const v = values[s.path];
      if (initial) {
        if (same(v, initial[s.path])) continue;
        if (typeof v === 'string' && v.trim() === '') {
          set(body, s.path, null);
          continue;
        }
      }
      if (s.kind === 'boolean') {
        set(body, s.path, v === true);
        continue;
      }
      if (s.kind === 'multiselect') {
        const list = Array.isArray(v) ? v : [];
        if (list.length > 0 || s.required) set(body, s.path, list);
        continue;
      }
      const text = typeof v === 'string' ? v.trim() : '';
      if (text === '') continue;
      switch (s.kind) {
        case 'number':
        case 'integer': {
          const n = Number(text);
          if (!Number.isFinite(n) || (s.kind === 'integer' && !Number.isInteger(n)))
            errors[s.path] = s.kind === 'integer' ? 'expected an integer' : 'expected a number';
          else set(body, s.path, n);
          break;
        }
        case 'list': {
          const items = splitList(text);
          if (s.numeric) {
            const nums = items.map(Number);
            if (nums.some((n) => !Number.isFinite(n))) errors[s.path] = 'expected numbers';
            else set(body, s.path, nums);
          } else set(body, s.path, items);
          break;
        }
        case 'foreign':
          set(body, s.path, { id: text });
          break;
        case 'json':
          try {
            set(body, s.path, JSON.parse(text));
          } catch {
            errors[s.path] = 'expected JSON';
          }
          break;
        default:
          set(body, s.path, s.numeric ? Number(text) : text);
      }
    }
  };
  walk(fields);
  return { body, errors };
}

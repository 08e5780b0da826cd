/**
 * Parameter deserialization as OpenAPI 3 describes it (`style`, `explode`), driven by the
 * parameter schema's top-level `type`, before the value is validated. Everything here is built
 * once per config (`compileParameter`); a request only splits and converts strings.
 */
import type { RequestView } from '../api.js';

type Location = 'header' | 'path' | 'query';
type Kind = 'array' | 'object' | 'scalar';

/** Converts a string to the JSON type `type` names (left a string when it does not convert). */
export function coerce(value: string, type: unknown): unknown {
  switch (type) {
    case 'integer':
    case 'number': {
      if (value.trim() === '') return value;
      const n = Number(value);
      return Number.isFinite(n) ? n : value;
    }
    case 'boolean':
      return value === 'true' ? true : value === 'false' ? false : value;
    case 'null':
      return value === '' || value === 'null' ? null : value;
    default:
      return value;
  }
}

function splitOn(value: string, style: string, explode: boolean): string[] {
  switch (style) {
    case 'spaceDelimited':
      return value.split(/ |%20/);
    case 'pipeDelimited':
      return value.split('|');
    case 'label':
      return (value.startsWith('.') ? value.slice(1) : value).split(explode ? '.' : ',');
    default:
      return value.split(',');
  }
}

/** Strips matrix's `;name=` prefixes: `;id=3,4` → `3,4`; `;id=3;id=4` → `3,4`. */
function matrixValue(value: string): string {
  const parts = value.split(';').filter((p) => p !== '');
  const out: string[] = [];
  for (const p of parts) {
    const eq = p.indexOf('=');
    out.push(eq < 0 ? '' : p.slice(eq + 1));
  }
  return parts.length === 0 ? value : out.join(',');
}

function toObject(
  pairs: string[],
  explode: boolean,
  props: Record<string, unknown>,
): Record<string, unknown> {
  const o: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  if (explode) {
    for (const p of pairs) {
      const eq = p.indexOf('=');
      if (eq <= 0) continue;
      const k = p.slice(0, eq);
      o[k] = coerce(p.slice(eq + 1), typeOf(props[k]));
    }
  } else {
    for (let i = 0; i + 1 < pairs.length; i += 2)
      o[pairs[i]!] = coerce(pairs[i + 1]!, typeOf(props[pairs[i]!]));
  }
  return o;
}

function typeOf(s: unknown): unknown {
  return typeof s === 'object' && s !== null ? (s as { type?: unknown }).type : undefined;
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return s;
  }
}

export interface CompiledParameter {
  readonly location: Location;
  readonly name: string;
  readonly required: boolean;
  /** The raw value(s) found, or undefined when the parameter is absent. */
  read(request: RequestView): string[] | undefined;
  /** The value to validate (deserialized by style/explode and the schema's type). */
  deserialize(raw: string[], request: RequestView): unknown;
}

export function compileParameter(p: {
  in: Location;
  name: string;
  required: boolean;
  style?: string | null;
  explode?: boolean | null;
  schema: Record<string, unknown> | null;
}): CompiledParameter {
  const location = p.in;
  const name = p.name;
  const lower = name.toLowerCase();
  const schema = p.schema ?? {};
  const type = schema['type'];
  const kind: Kind = type === 'array' ? 'array' : type === 'object' ? 'object' : 'scalar';
  const itemType = typeOf(schema['items']);
  const props = (
    typeof schema['properties'] === 'object' && schema['properties'] !== null ? schema['properties'] : {}
  ) as Record<string, unknown>;
  const style = p.style ?? (location === 'query' ? 'form' : 'simple');
  const explode = p.explode ?? style === 'form';

  const read = (request: RequestView): string[] | undefined => {
    if (location === 'header') {
      const v = request.headerValues(lower);
      return v.length === 0 ? undefined : [v.join(',')];
    }
    if (location === 'path') {
      const v = request.uriCaptures[name];
      return v === undefined ? undefined : [v];
    }
    if (style === 'deepObject' || (kind === 'object' && explode && style === 'form'))
      return [request.rawQuery];
    const v = request.query.getAll(name);
    return v.length === 0 ? undefined : v;
  };

  const deserialize = (raw: string[], request: RequestView): unknown => {
    if (location === 'query' && style === 'deepObject') {
      const o: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
      const prefix = `${name}[`;
      for (const [k, v] of request.query) {
        if (k.startsWith(prefix) && k.endsWith(']')) {
          const key = k.slice(prefix.length, -1);
          o[key] = coerce(v, typeOf(props[key]));
        }
      }
      return o;
    }
    if (location === 'query' && kind === 'object' && explode && style === 'form') {
      const o: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
      for (const [k, v] of request.query) if (Object.hasOwn(props, k)) o[k] = coerce(v, typeOf(props[k]));
      return o;
    }
    let value = raw.length === 1 ? raw[0]! : raw.join(',');
    if (style === 'matrix') value = matrixValue(value);
    if (location === 'path') value = safeDecode(value);
    if (kind === 'scalar') {
      if (style === 'label' && value.startsWith('.')) value = value.slice(1);
      return coerce(value, type);
    }
    const parts = raw.length > 1 && explode ? raw : splitOn(value, style, explode);
    if (kind === 'array') return parts.map((v) => coerce(v, itemType));
    return toObject(parts, explode && style !== 'form', props);
  };

  return { location, name, required: p.required, read, deserialize };
}

/**
 * response-transformer's JSON body rules (Kong's body_transformer.lua): `allow` first (when set,
 * only those top-level properties are kept), then remove, rename, replace, add, append over the
 * top-level properties of a JSON object. Values are strings unless `json_types` gives `number`
 * or `boolean` at the same index. A body that is not a JSON object is left as it is (null).
 */

export interface JsonRule {
  readonly name: string;
  /** The typed value (Kong's json_value), or undefined when it cannot be cast (rule skipped). */
  readonly value: unknown;
}

export interface JsonRules {
  readonly allow: ReadonlySet<string> | null;
  readonly remove: readonly string[];
  readonly rename: readonly { readonly from: string; readonly to: string }[];
  readonly replace: readonly JsonRule[];
  readonly add: readonly JsonRule[];
  readonly append: readonly JsonRule[];
}

/** Kong's cast_value: tonumber (nil when not a number), `"true"` → true (anything else false), or the string. */
export function castValue(value: string, type: string | undefined): unknown {
  if (type === 'number') {
    if (value.trim() === '') return undefined;
    const n = Number(value);
    return Number.isFinite(n) ? n : undefined;
  }
  if (type === 'boolean') return value === 'true';
  return value;
}

function own(obj: Record<string, unknown>, key: string): unknown {
  return Object.hasOwn(obj, key) ? obj[key] : undefined;
}

/** Sets an own property (never the `__proto__` setter). */
function put(obj: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(obj, key, { value, writable: true, enumerable: true, configurable: true });
}

/** Lua truthiness of a decoded value: absent and false are false (JSON null is cjson.null, true). */
const truthy = (v: unknown): boolean => v !== undefined && v !== false;

/** Kong's append_value: a string becomes a pair, an array grows, anything else becomes [value]. */
function appendValue(current: unknown, value: unknown): unknown[] {
  if (typeof current === 'string') return [current, value];
  if (Array.isArray(current)) return [...(current as unknown[]), value];
  return [value];
}

export function transformJsonBody(body: Buffer, rules: JsonRules): Buffer | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    return null;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return null;
  let json = parsed as Record<string, unknown>;
  if (rules.allow !== null) {
    const kept: Record<string, unknown> = {};
    for (const key of Object.keys(json)) if (rules.allow.has(key)) put(kept, key, json[key]);
    json = kept;
  }
  for (const name of rules.remove) delete json[name];
  for (const { from, to } of rules.rename) {
    const v = own(json, from);
    if (v !== undefined && to !== '' && from !== to) {
      delete json[from];
      put(json, to, v);
    }
  }
  for (const { name, value } of rules.replace)
    if (value !== undefined && truthy(own(json, name))) put(json, name, value);
  for (const { name, value } of rules.add)
    if (value !== undefined && !truthy(own(json, name))) put(json, name, value);
  for (const { name, value } of rules.append)
    if (value !== undefined) put(json, name, appendValue(own(json, name), value));
  return Buffer.from(JSON.stringify(json));
}

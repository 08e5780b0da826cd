/**
 * request-transformer's body rules (Kong's access.lua): JSON objects, form-urlencoded and
 * multipart/form-data bodies, in Kong's order remove, rename, replace, add, append (multipart:
 * rename, remove, replace, add; no append, as lua-multipart). remove, rename and replace apply
 * only to a non-empty body; add and append also to an empty one. A body that does not parse is
 * left as it is (null: unchanged).
 */
import { appendValue, encodeArgs, parseArgs } from './args.js';
import { boundaryOf, Multipart, parseMultipart } from './multipart.js';

/** One rendered rule: the name and, for pairs, the rendered value. */
export interface Rendered {
  readonly name: string;
  readonly value: string;
}

export interface BodyRules {
  readonly remove: readonly string[];
  readonly rename: readonly Rendered[];
  readonly replace: readonly Rendered[];
  readonly add: readonly Rendered[];
  readonly append: readonly Rendered[];
}

export type BodyKind = 'json' | 'form' | 'multipart';

/** Kong's get_content_type: a substring match on the lower-cased Content-Type. */
export function bodyKind(contentType: string | undefined): BodyKind | null {
  if (contentType === undefined) return null;
  const ct = contentType.toLowerCase();
  if (ct.includes('application/json')) return 'json';
  if (ct.includes('multipart/form-data')) return 'multipart';
  if (ct.includes('application/x-www-form-urlencoded')) return 'form';
  return null;
}

/** Lua truthiness of a decoded JSON value: only absent and `false` are false (JSON null is cjson.null). */
const truthy = (v: unknown): boolean => v !== undefined && v !== false;

function own(obj: Record<string, unknown>, key: string): unknown {
  return Object.hasOwn(obj, key) ? obj[key] : undefined;
}

/** Sets an own property (never the `__proto__` setter). */
function put(obj: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(obj, key, { value, writable: true, enumerable: true, configurable: true });
}

export function transformJson(body: Buffer, rules: BodyRules): Buffer | null {
  const nonEmpty = body.length > 0;
  let params: Record<string, unknown>;
  if (!nonEmpty) params = {};
  else {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch {
      return null;
    }
    // Only an object has named parameters; an array or a scalar is left as it is.
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return null;
    params = parsed as Record<string, unknown>;
  }
  let changed = false;
  if (nonEmpty) {
    for (const name of rules.remove) {
      delete params[name];
      changed = true;
    }
    for (const { name, value } of rules.rename) {
      if (name === value) continue;
      const v = own(params, name);
      if (truthy(v)) {
        delete params[name];
        put(params, value, v);
        changed = true;
      }
    }
    for (const { name, value } of rules.replace) {
      if (truthy(own(params, name))) {
        put(params, name, value);
        changed = true;
      }
    }
  }
  for (const { name, value } of rules.add) {
    if (!truthy(own(params, name))) {
      put(params, name, value);
      changed = true;
    }
  }
  for (const { name, value } of rules.append) {
    put(params, name, appendValue(own(params, name), value));
    changed = true;
  }
  return changed ? Buffer.from(JSON.stringify(params)) : null;
}

export function transformForm(body: Buffer, rules: BodyRules): Buffer | null {
  const nonEmpty = body.length > 0;
  const params = parseArgs(body.toString('utf8'));
  let changed = false;
  if (nonEmpty) {
    for (const name of rules.remove) {
      params.delete(name);
      changed = true;
    }
    for (const { name, value } of rules.rename) {
      const v = params.get(name);
      if (name !== value && v !== undefined) {
        params.delete(name);
        params.set(value, v);
        changed = true;
      }
    }
    for (const { name, value } of rules.replace) {
      if (params.has(name)) {
        params.set(name, value);
        changed = true;
      }
    }
  }
  for (const { name, value } of rules.add) {
    if (!params.has(name)) {
      params.set(name, value);
      changed = true;
    }
  }
  for (const { name, value } of rules.append) {
    params.set(name, appendValue(params.get(name), value));
    changed = true;
  }
  return changed ? Buffer.from(encodeArgs(params)) : null;
}

export function transformMultipart(body: Buffer, contentType: string, rules: BodyRules): Buffer | null {
  const boundary = boundaryOf(contentType);
  if (boundary === null) return null;
  const nonEmpty = body.length > 0;
  const parts = nonEmpty ? parseMultipart(body, boundary) : [];
  if (parts === null) return null;
  const form = new Multipart(parts, boundary);
  let changed = false;
  if (nonEmpty) {
    for (const { name, value } of rules.rename) {
      const part = form.get(name);
      if (part !== undefined && name !== value) {
        form.setSimple(value, part.value);
        form.delete(name);
        changed = true;
      }
    }
    for (const name of rules.remove) {
      form.delete(name);
      changed = true;
    }
    for (const { name, value } of rules.replace) {
      if (form.has(name)) {
        form.delete(name);
        form.setSimple(name, Buffer.from(value));
        changed = true;
      }
    }
  }
  for (const { name, value } of rules.add) {
    if (!form.has(name)) {
      form.setSimple(name, Buffer.from(value));
      changed = true;
    }
  }
  return changed ? form.toBuffer() : null;
}

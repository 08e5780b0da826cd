/** Small helpers over untrusted JSON values, shared by the validator, typedefs and form coercion. */

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(value: unknown): value is string {
  return typeof value === 'string' && UUID_RE.test(value);
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Sets `o[key]` as an own property even when `key` comes from input and is `__proto__` (a plain
 * assignment would replace the object's prototype instead).
 */
export function putOwn(o: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__')
    Object.defineProperty(o, key, { value, enumerable: true, writable: true, configurable: true });
  else o[key] = value;
}

/** `o[key]` if `o` has it as its own property (never a value inherited from a prototype). */
export const getOwn = (o: Record<string, unknown>, key: string): unknown =>
  Object.hasOwn(o, key) ? o[key] : undefined;

/**
 * A copy of `base` with `patch` merged in, records recursively (Kong's PATCH of nested records:
 * `config`, `healthchecks`). Keys are copied as own properties: a `__proto__` key in either
 * never reaches a prototype.
 */
export function deepMerge(base: unknown, patch: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (isPlainObject(base)) for (const [k, v] of Object.entries(base)) putOwn(out, k, v);
  for (const [key, value] of Object.entries(patch))
    putOwn(out, key, isPlainObject(value) ? deepMerge(getOwn(out, key), value) : value);
  return out;
}

/**
 * Object keys refused anywhere in client input (Admin API bodies and query strings, declarative
 * files): the names through which a merge or assignment reaches `Object.prototype`. Refused as
 * an unknown field, as Kong refuses any field its schema lacks.
 */
export const FORBIDDEN_KEYS: readonly string[] = ['__proto__', 'constructor', 'prototype'];

export const isForbiddenKey = (key: string): boolean => FORBIDDEN_KEYS.includes(key);

/** The message for a field its schema does not have (Kong's). */
export const UNKNOWN_FIELD = 'unknown field';

/** True if `s` holds a NUL character (U+0000), which no Postgres text or jsonb value can hold. */
export const hasNul = (s: string): boolean => s.includes('\u0000');

/** The message for a string (or object key) with a NUL character. */
export const NUL_MESSAGE = 'must not contain NUL characters (\\u0000)';

/** How deep client input may nest (records in arrays in records …); Kong's JSON decoder stops at 1000. */
export const MAX_INPUT_DEPTH = 64;

export const TOO_DEEP_MESSAGE = `nested more than ${MAX_INPUT_DEPTH} levels deep`;

/** One refused part of a client input: where (keys and indexes from the top) and why. */
export interface InputProblem {
  path: (string | number)[];
  message: string;
}

/**
 * What every entry point refuses in client input before anything reads it: forbidden keys
 * (`__proto__`, `constructor`, `prototype`: "unknown field"), NUL characters in strings and in
 * keys, and nesting deeper than MAX_INPUT_DEPTH. Walks the value without recursion; reads own
 * properties only. At most `limit` problems are returned. With `forbiddenKeys: false` the keys
 * are data (the schema language's own check, which leaves the key policy to the entry points).
 */
export function inputProblems(
  value: unknown,
  { limit = 20, forbiddenKeys = true }: { limit?: number; forbiddenKeys?: boolean } = {},
): InputProblem[] {
  const problems: InputProblem[] = [];
  const stack: { v: unknown; path: (string | number)[] }[] = [{ v: value, path: [] }];
  while (stack.length > 0 && problems.length < limit) {
    const { v, path } = stack.pop()!;
    if (typeof v === 'string') {
      if (hasNul(v)) problems.push({ path, message: NUL_MESSAGE });
      continue;
    }
    if (v === null || typeof v !== 'object') continue;
    if (path.length >= MAX_INPUT_DEPTH) {
      problems.push({ path, message: TOO_DEEP_MESSAGE });
      continue;
    }
    if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push({ v: v[i] as unknown, path: [...path, i] });
      continue;
    }
    const children: typeof stack = [];
    for (const key of Object.keys(v)) {
      if (forbiddenKeys && isForbiddenKey(key))
        problems.push({ path: [...path, key], message: UNKNOWN_FIELD });
      else if (hasNul(key)) problems.push({ path: [...path, key], message: NUL_MESSAGE });
      else children.push({ v: (v as Record<string, unknown>)[key], path: [...path, key] });
    }
    for (let i = children.length - 1; i >= 0; i--) stack.push(children[i]!);
  }
  return problems;
}

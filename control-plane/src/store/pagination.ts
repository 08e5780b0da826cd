import { EntityErrors, KONG_ERROR_CODES, type GatehouseError, type KongErrorBody } from '@gatehouse/shared';
import type { ListSort } from './sort.js';

export const DEFAULT_PAGE_SIZE = 100;
export const MAX_PAGE_SIZE = 1000;
/** Kong's limit on the tags of one `?tags=` filter (kong/db/dao/init.lua). */
export const MAX_FILTER_TAGS = 5;

export interface ListOptions {
  size?: number | undefined;
  /** Opaque token from a previous page's `offset`. */
  offset?: string | undefined;
  /** Entities carrying every tag (AND) or, with `tagsMode: 'any'`, at least one (OR). */
  tags?: string[] | undefined;
  tagsMode?: 'all' | 'any' | undefined;
  /** Equality filters on the entity's own columns (`?custom_id=`, `?name=`). */
  where?: Record<string, string> | undefined;
  /** `?sort_by=`/`?sort_desc=`: the field and direction (id order when absent). */
  sort?: ListSort | undefined;
}

export interface Page<T> {
  data: T[];
  /** Token for the next page, or null on the last page. */
  offset: string | null;
}

/**
 * Lua's `tonumber` on a query value, as Kong reads `size`: surrounding spaces, decimals,
 * exponents and `0x` hex are numbers; `inf` and `nan` are numbers no size accepts.
 */
function luaNumber(text: string): number | undefined {
  const t = text.trim();
  if (/^[+-]?0[xX][0-9a-fA-F]+$/.test(t)) {
    const n = parseInt(t.replace(/^[+-]/, ''), 16);
    return t.startsWith('-') ? -n : n;
  }
  if (/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t)) return Number(t);
  if (/^[+-]?(inf|infinity|nan)$/i.test(t)) return NaN;
  return undefined;
}

/**
 * Kong's `size` rule (kong/api/endpoints.lua `get_page_size`, kong/db/dao/init.lua): absent is
 * 100; anything Lua's `tonumber` refuses (`?size=`, `?size=x`, a repeated `size`) is "size must
 * be a number"; a number that is not an integer between 1 and 1000 is refused with that range.
 */
export function parseSize(raw: string | readonly string[] | undefined): number {
  if (raw === undefined) return DEFAULT_PAGE_SIZE;
  const size = typeof raw === 'string' ? luaNumber(raw) : undefined;
  if (size === undefined) {
    throw EntityErrors.invalidSize({
      message: 'size must be a number',
      name: 'invalid size',
      code: KONG_ERROR_CODES.INVALID_SIZE,
    });
  }
  if (!Number.isInteger(size) || size < 1 || size > MAX_PAGE_SIZE) {
    throw EntityErrors.invalidSize({
      message: `size must be an integer between 1 and ${MAX_PAGE_SIZE}`,
      name: 'invalid size',
      code: KONG_ERROR_CODES.INVALID_SIZE,
    });
  }
  return size;
}

/** Offsets are the base64url of a JSON array holding the last row's cursor (keyset pagination). */
export function encodeOffset(lastId: string): string {
  return Buffer.from(JSON.stringify([lastId])).toString('base64url');
}

/** Kong's invalid offset: `'<token>' is not a valid offset: <why>`. */
export function badOffset(token: string, why: string): GatehouseError {
  return EntityErrors.invalidOffset({
    message: `'${token}' is not a valid offset: ${why}`,
    name: 'invalid offset',
    code: KONG_ERROR_CODES.INVALID_OFFSET,
  });
}

/**
 * The cursor (a JSON array) an offset token carries; Kong's errors otherwise: "bad base64
 * encoding" (not base64), "bad json encoding" (base64 of something that is not JSON, `?offset=`
 * included), "malformed offset" (JSON that is not a cursor `valid` accepts; Kong's database would
 * fail on it).
 */
export function offsetJson(token: string, valid: (cursor: unknown[]) => boolean): unknown[] {
  if (!/^[A-Za-z0-9_-]*$/.test(token) || token.length % 4 === 1)
    throw badOffset(token, 'bad base64 encoding');
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    throw badOffset(token, 'bad json encoding');
  }
  if (!Array.isArray(parsed) || !valid(parsed)) throw badOffset(token, 'malformed offset');
  return parsed;
}

/** The one string an id-order offset carries (`[id]`, or the `/tags` row key); see `offsetJson`. */
export function decodeOffset(token: string, valid: (cursor: string) => boolean = () => true): string {
  const [cursor] = offsetJson(token, (c) => typeof c[0] === 'string' && valid(c[0]));
  return cursor as string;
}

/**
 * Kong's invalid-options error (kong/db/errors.lua `invalid_options`): one option is
 * `invalid option (<option>: <message>)`, several `<n> option violations (<a>: …; <b>: …)` in
 * name order; the body carries the per-option messages under `options`.
 */
export function invalidOptions(errors: Record<string, string>): GatehouseError {
  const parts = Object.keys(errors)
    .sort()
    .map((name) => `${name}: ${errors[name]}`);
  const body: KongErrorBody & { options: Record<string, string> } = {
    message:
      parts.length === 1
        ? `invalid option (${parts[0]})`
        : `${parts.length} option violations (${parts.join('; ')})`,
    name: 'invalid options',
    code: KONG_ERROR_CODES.INVALID_OPTIONS,
    options: { ...errors },
  };
  return EntityErrors.invalidOptions(body);
}

/** Kong's invalid-options error for one option. */
export function invalidOption(option: string, message: string): GatehouseError {
  return invalidOptions({ [option]: message });
}

/**
 * One tag of a filter: printable ASCII but `,` and `/` (space included), or any non-ASCII
 * character (the value has already been read as UTF-8). Kong's `TAGS_AND_REGEX`/`TAGS_OR_REGEX`.
 */
const TAG_CHARS = '[\\x20-\\x2B\\x2D\\x2E\\x30-\\x7E\\u0080-\\u{10FFFF}]';
const TAGS_AND = new RegExp(`^(?:${TAG_CHARS}+(?:,|$))+$`, 'u');
const TAGS_OR = new RegExp(`^(?:${TAG_CHARS}+(?:/|$))+$`, 'u');

/**
 * Kong's `?tags=` (kong/api/endpoints.lua `extract_options`, kong/db/dao/init.lua): `a,b` (all
 * of) or `a/b` (any of), at most 5 tags. Present but empty (`?tags`, `?tags=`) is "cannot be
 * null"; mixing `,` and `/`, an empty tag, a control character or a value that is not UTF-8
 * (`null` here) is "invalid filter syntax".
 */
export function parseTags(raw: string | null | undefined): Pick<ListOptions, 'tags' | 'tagsMode'> {
  if (raw === undefined) return {};
  if (raw === '') throw invalidOption('tags', 'cannot be null');
  const mode =
    raw !== null && TAGS_AND.test(raw) ? 'all' : raw !== null && TAGS_OR.test(raw) ? 'any' : undefined;
  if (raw === null || mode === undefined) throw invalidOption('tags', 'invalid filter syntax');
  const tags = raw.split(mode === 'all' ? ',' : '/');
  if (tags.length > MAX_FILTER_TAGS)
    throw invalidOption('tags', `cannot query more than ${MAX_FILTER_TAGS} tags`);
  return { tags, tagsMode: mode };
}

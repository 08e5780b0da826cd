import { EntityErrors, KONG_ERROR_CODES } from '@gatehouse/shared';

export const DEFAULT_PAGE_SIZE = 100;
export const MAX_PAGE_SIZE = 1000;

export interface ListOptions {
  size?: number | undefined;
  /** Opaque token from a previous page's `offset`. */
  offset?: string | undefined;
  /** Entities carrying every tag (AND) or, with `tagsMode: 'any'`, at least one (OR). */
  tags?: string[] | undefined;
  tagsMode?: 'all' | 'any' | undefined;
}

export interface Page<T> {
  data: T[];
  /** Token for the next page, or null on the last page. */
  offset: string | null;
}

/** Kong's `size` rule: an integer between 1 and 1000 (default 100). */
export function parseSize(raw: string | undefined): number {
  if (raw === undefined || raw === '') return DEFAULT_PAGE_SIZE;
  const text = raw;
  if (!/^-?\d+$/.test(text)) {
    throw EntityErrors.invalidSize({
      message: 'size must be a number',
      name: 'invalid size',
      code: KONG_ERROR_CODES.INVALID_SIZE,
    });
  }
  const size = Number(text);
  if (size < 1 || size > MAX_PAGE_SIZE) {
    throw EntityErrors.invalidSize({
      message: `size must be an integer between 1 and ${MAX_PAGE_SIZE}`,
      name: 'invalid size',
      code: KONG_ERROR_CODES.INVALID_SIZE,
    });
  }
  return size;
}

/** Offsets are the base64url of the last id on the previous page (keyset pagination by id). */
export function encodeOffset(lastId: string): string {
  return Buffer.from(JSON.stringify([lastId])).toString('base64url');
}

export function decodeOffset(token: string, valid: (cursor: string) => boolean = () => true): string {
  const bad = (why: string) =>
    EntityErrors.invalidOffset({
      message: `'${token}' is not a valid offset: ${why}`,
      name: 'invalid offset',
      code: KONG_ERROR_CODES.INVALID_OFFSET,
    });
  if (!/^[A-Za-z0-9_-]+$/.test(token)) throw bad('bad base64 encoding');
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    throw bad('bad base64 encoding');
  }
  if (!Array.isArray(parsed) || typeof parsed[0] !== 'string' || !valid(parsed[0]))
    throw bad('malformed offset');
  return parsed[0];
}

/** Kong's `?tags=` syntax: `a,b` (all of) or `a/b` (any of); mixing both is refused. */
export function parseTags(raw: string | undefined): Pick<ListOptions, 'tags' | 'tagsMode'> {
  if (raw === undefined || raw === '') return {};
  const text = raw;
  const invalid = () =>
    EntityErrors.invalidOptions({
      message: 'invalid option (tags: invalid filter syntax)',
      name: 'invalid options',
      code: KONG_ERROR_CODES.INVALID_OPTIONS,
      fields: { tags: 'invalid filter syntax' },
    });
  const hasAnd = text.includes(',');
  const hasOr = text.includes('/');
  if (hasAnd && hasOr) throw invalid();
  const tags = text.split(hasOr ? '/' : ',');
  if (tags.some((t) => t === '')) throw invalid();
  return { tags, tagsMode: hasOr ? 'any' : 'all' };
}

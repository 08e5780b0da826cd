import type { Request } from 'express';
import { EntityErrors, type EntityRecord } from '@gatehouse/shared';
import type { ListOptions, ListSort, Page } from '../store/index.js';
import { invalidOption, invalidOptions, parseSize, parseTags, sortProblem } from '../store/index.js';
import { NOT_UTF8, queryArgs, type QueryValue } from './query-args.js';

/**
 * What is listed: the entity kind (its fields may be sorted by and filtered on) and whether under
 * a parent or as another entity's members.
 */
export interface ListScope {
  record?: EntityRecord;
  /** `/services/{s}/routes`: Kong checks `?tags=` there but does not filter by it. */
  nested?: boolean;
  /** `/consumer_groups/{g}/consumers`: filtered by `?tags=`, sorted, but no field filters. */
  members?: boolean;
}

/** The query arguments `listOptions` reads itself; any other is a field filter or ignored. */
const PAGING_ARGS = new Set(['size', 'offset', 'tags', 'sort_by', 'sort_desc']);
/** The arguments `next` repeats after the offset so the next page is read the same way. */
const SORT_ARGS = ['sort_by', 'sort_desc'] as const;

const argsOf = (req: Request) => queryArgs(req.originalUrl);

/**
 * The fields `?<field>=value` filters on (exact match, in the database): the entity's stored
 * string fields that are neither ids, foreign keys nor hidden. Kong OSS ignores these arguments
 * but for `/consumers?custom_id=`; Kong Enterprise (and Kong Manager) send `?name=` and the like.
 */
function filterableFields(record: EntityRecord): Set<string> {
  const hidden = new Set(record.hidden ?? []);
  return new Set(
    record.fields.filter((name) => {
      const field = record.schema.fields[name];
      return field?.type === 'string' && !field.uuid && !hidden.has(name);
    }),
  );
}

/**
 * `GET /consumers?custom_id=X` (kong/api/routes/consumers.lua): the one consumer with that
 * custom_id, or none; the other arguments are not read. Present but empty is Kong's 400.
 */
function customIdLookup(args: Map<string, QueryValue[]>): ListOptions | undefined {
  const values = args.get('custom_id');
  if (values === undefined) return undefined;
  const value = values[0];
  if (values.length !== 1 || value === '' || value === NOT_UTF8)
    throw EntityErrors.invalidOptions({ message: 'custom_id must be an unempty string' });
  return { where: { custom_id: value! } };
}

/** The string value of one argument; a value that is not UTF-8 is Kong's invalid option. */
function text(args: Map<string, QueryValue[]>, name: string): string | undefined {
  const value = args.get(name)?.[0];
  if (value === NOT_UTF8) throw invalidOption(name, 'invalid utf-8');
  return value;
}

/** `?sort_desc=` values: Kong's booleans as query arguments carry them (`true`/`false`, `1`/`0`). */
const BOOLEANS: ReadonlyMap<string, boolean> = new Map([
  ['true', true],
  ['1', true],
  ['false', false],
  ['0', false],
]);

/**
 * `?sort_by=<field>` and `?sort_desc=<boolean>` (Kong Enterprise's list arguments, which Kong
 * Manager sends): the entity's field and direction; `sort_desc` alone reverses id order. Each bad
 * argument is Kong's invalid options, both in one error as Kong's DAO reports them.
 */
function sortOption(args: Map<string, QueryValue[]>, record: EntityRecord): ListSort | undefined {
  const by = args.get('sort_by')?.[0];
  const descArg = args.get('sort_desc')?.[0];
  const errors: Record<string, string> = {};
  const desc =
    descArg === undefined ? false : typeof descArg === 'string' ? BOOLEANS.get(descArg) : undefined;
  if (desc === undefined) errors.sort_desc = 'expected a boolean';
  if (by === NOT_UTF8) errors.sort_by = 'invalid utf-8';
  else if (by === '') errors.sort_by = 'cannot be null';
  else if (by !== undefined) {
    const problem = sortProblem(record, by);
    if (problem) errors.sort_by = problem;
  }
  if (Object.keys(errors).length > 0) throw invalidOptions(errors);
  if (typeof by !== 'string') return desc ? { by: 'id', desc } : undefined;
  return { by, desc: desc === true };
}

/**
 * `size`, `offset`, `tags`, `sort_by`/`sort_desc` and field filters from the query string,
 * validated as Kong does (kong/api/endpoints.lua `extract_options`, `get_page_size`). A nested
 * collection checks `tags` but does not filter by it, as Kong's `page_for_*`.
 */
export function listOptions(req: Request, scope: ListScope = {}): ListOptions {
  const args = argsOf(req);
  const filtering = scope.record !== undefined && !scope.nested && !scope.members;
  if (scope.record?.kind === 'consumers' && filtering) {
    const lookup = customIdLookup(args);
    if (lookup) return lookup;
  }
  const sizes = args.get('size');
  const size = parseSize(
    sizes === undefined ? undefined : sizes.length === 1 && sizes[0] !== NOT_UTF8 ? sizes[0]! : [],
  );
  const offsetArg = args.get('offset')?.[0];
  const offset = offsetArg === NOT_UTF8 ? '\uFFFD' : offsetArg;
  const tagArg = args.get('tags')?.[0];
  const tags = parseTags(tagArg === NOT_UTF8 ? null : tagArg);
  const where = filtering ? fieldFilters(args, scope.record!) : undefined;
  const sort = scope.record ? sortOption(args, scope.record) : undefined;
  return {
    size,
    offset,
    ...(scope.nested ? {} : tags),
    ...(where ? { where } : {}),
    ...(sort ? { sort } : {}),
  };
}

function fieldFilters(
  args: Map<string, QueryValue[]>,
  record: EntityRecord,
): Record<string, string> | undefined {
  const fields = filterableFields(record);
  const where: Record<string, string> = {};
  for (const name of args.keys()) {
    if (PAGING_ARGS.has(name) || !fields.has(name)) continue;
    const value = text(args, name);
    if (value) where[name] = value;
  }
  return Object.keys(where).length > 0 ? where : undefined;
}

/**
 * Kong's page shape: `{ data, offset, next }`, `next` the path of the following page or null.
 * A collection's `next` repeats `tags`, `size`, `sort_by`, `sort_desc` (and our field filters);
 * a nested collection's carries the offset, as Kong's, and the sort arguments.
 */
export function pageBody<T>(req: Request, page: Page<T>, scope: ListScope = {}) {
  if (page.offset === null) return { data: page.data, next: null };
  const parts = [`offset=${encodeURIComponent(page.offset)}`];
  const args = argsOf(req);
  const filters = scope.record && !scope.nested && !scope.members ? [...filterableFields(scope.record)] : [];
  const repeated = scope.nested ? SORT_ARGS : ['tags', 'size', ...SORT_ARGS, ...filters];
  for (const name of repeated) {
    const value = args.get(name)?.[0];
    if (typeof value === 'string' && value !== '') parts.push(`${name}=${encodeURIComponent(value)}`);
  }
  return { data: page.data, offset: page.offset, next: `${req.baseUrl}${req.path}?${parts.join('&')}` };
}

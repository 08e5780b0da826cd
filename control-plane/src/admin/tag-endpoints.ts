import { Router, type Request, type RequestHandler } from 'express';
import { defineError, KONG_ERROR_CODES, schema } from '@gatehouse/shared';
import { parseSize, type ConfigStore, type Page, type TagRow } from '../store/index.js';
import { methodNotAllowed } from './errors.js';
import { NOT_UTF8, percentDecodeBytes, queryArgs, utf8ErrorPosition, utf8Text } from './query-args.js';

/** `/tags/{tag}` with a value that is not a tag: Kong's "invalid unique tag" (code 10). */
const invalidTagError = defineError('GH_ERR_ADMIN_INVALID_TAG', 400);
const invalidTag = (message: string) =>
  invalidTagError(message, {
    body: { message, name: 'invalid unique tag', code: KONG_ERROR_CODES.INVALID_UNIQUE },
  });

/** Kong's `{ data, offset, next }` for a tags page. */
const tagsBody = (path: string, page: Page<TagRow>, size: number) =>
  page.offset === null
    ? { data: page.data, next: null }
    : {
        data: page.data,
        offset: page.offset,
        next: `${path}?offset=${encodeURIComponent(page.offset)}&size=${size}`,
      };

/** `size` and `offset`; `?tags=` is not read here, as Kong ignores it on `/tags`. */
const query = (req: Request) => {
  const args = queryArgs(req.originalUrl);
  const sizes = args.get('size');
  const offset = args.get('offset')?.[0];
  return {
    size: parseSize(
      sizes === undefined ? undefined : sizes.length === 1 && typeof sizes[0] === 'string' ? sizes[0] : [],
    ),
    offset: offset === NOT_UTF8 ? '\uFFFD' : offset,
  };
};

/** The raw path segment after `/tags/` (still percent-encoded), or undefined for another path. */
const rawTagSegment = (req: Request): string | undefined =>
  /^\/tags\/([^/]+)\/?$/.exec(req.originalUrl.split('?')[0]!)?.[1];

/**
 * The tag a `/tags/{tag}` path names, decoded from its bytes (a raw or `%XX`-encoded byte that is
 * not UTF-8 would otherwise fail the router's decoding, or read as latin-1), checked with Kong's
 * tag rule: "invalid utf-8 character sequence detected at position N", "invalid tag '…'".
 */
function tagOf(raw: string): string {
  const bytes = percentDecodeBytes(raw);
  const position = utf8ErrorPosition(bytes);
  if (position !== undefined)
    throw invalidTag(`invalid utf-8 character sequence detected at position ${position}`);
  const tag = utf8Text(bytes) as string;
  const error = schema.typedefs.tagError(tag);
  if (error) throw invalidTag(error);
  return tag;
}

/** Runs before the router decodes `:tag`, so a path that is not UTF-8 gets Kong's answer. */
const checkTagPath: RequestHandler = (req, _res, next) => {
  const raw = rawTagSegment(req);
  if (raw !== undefined && (req.method === 'GET' || req.method === 'HEAD')) tagOf(raw);
  next();
};

/** Kong's `/tags` and `/tags/{tag}`: every tag on every entity, or the entities of one tag. */
export function tagEndpoints(store: ConfigStore): Router {
  const r = Router();
  r.use('/tags', checkTagPath);
  r.route('/tags')
    .get(async (req, res) => {
      const q = query(req);
      res.json(tagsBody('/tags', await store.tags(q), q.size));
    })
    .all(methodNotAllowed);
  r.route('/tags/:tag')
    .get(async (req, res) => {
      const q = query(req);
      const tag = tagOf(rawTagSegment(req) ?? '');
      res.json(tagsBody(`/tags/${encodeURIComponent(tag)}`, await store.tags({ ...q, tag }), q.size));
    })
    .all(methodNotAllowed);
  return r;
}

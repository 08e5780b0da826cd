import { Router, type Request } from 'express';
import { parseSize, type ConfigStore, type Page, type TagRow } from '../store/index.js';
import { methodNotAllowed } from './errors.js';
import { param } from './generic-router.js';

/** Kong's `{ data, offset, next }` for a tags page. */
const tagsBody = (path: string, page: Page<TagRow>, size: number) =>
  page.offset === null
    ? { data: page.data, next: null }
    : { data: page.data, offset: page.offset, next: `${path}?offset=${page.offset}&size=${size}` };

const query = (req: Request) => ({
  size: parseSize(typeof req.query.size === 'string' ? req.query.size : undefined),
  offset: typeof req.query.offset === 'string' ? req.query.offset : undefined,
});

/** Kong's `/tags` and `/tags/{tag}`: every tag on every entity, or the entities of one tag. */
export function tagEndpoints(store: ConfigStore): Router {
  const r = Router();
  r.route('/tags')
    .get(async (req, res) => {
      const q = query(req);
      res.json(tagsBody('/tags', await store.tags(q), q.size));
    })
    .all(methodNotAllowed);
  r.route('/tags/:tag')
    .get(async (req, res) => {
      const q = query(req);
      const tag = param(req.params.tag);
      res.json(tagsBody(`/tags/${encodeURIComponent(tag)}`, await store.tags({ ...q, tag }), q.size));
    })
    .all(methodNotAllowed);
  return r;
}

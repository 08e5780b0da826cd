import type { Request } from 'express';
import type { Page } from '../store/index.js';
import { parseSize, parseTags, type ListOptions } from '../store/index.js';

const first = (v: unknown): string | undefined =>
  Array.isArray(v) ? (first(v[0]) ?? undefined) : typeof v === 'string' ? v : undefined;

/** `size`, `offset` and `tags` from the query string, validated as Kong does. */
export function listOptions(req: Request): ListOptions {
  const query = req.query as Record<string, unknown>;
  return {
    size: parseSize(first(query.size)),
    offset: first(query.offset) || undefined,
    ...parseTags(first(query.tags)),
  };
}

/** Kong's page shape: `{ data, next, offset? }`; `next` is the path of the following page. */
export function pageBody<T>(req: Request, page: Page<T>) {
  if (page.offset === null) return { data: page.data, next: null };
  const query = req.query as Record<string, unknown>;
  const params = new URLSearchParams();
  params.set('offset', page.offset);
  const size = first(query.size);
  if (size) params.set('size', size);
  const tags = first(query.tags);
  if (tags) params.set('tags', tags);
  return { data: page.data, next: `${req.baseUrl}${req.path}?${params.toString()}`, offset: page.offset };
}

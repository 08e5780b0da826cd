/**
 * Kong-style list paging and filtering as query strings: `?size=&offset=&tags=` on a collection
 * path, the next page's `offset` read back from a page's `next`, and the tag filter as typed
 * (`a,b` has both tags, `a/b` either, Kong's rule; one or the other, not both).
 */

export interface ListQuery {
  size: number;
  /** The page's offset token (from the previous page's `next`); none for the first page. */
  offset?: string | null;
  /** The tag filter as Kong takes it: tags joined by `,` (all) or `/` (any). */
  tags?: string;
}

/** The smallest and largest page size Kong accepts. */
export const MIN_SIZE = 1;
export const MAX_SIZE = 1000;

/** A collection path (maybe with its own query) with the list query added. */
export function listPath(collection: string, q: ListQuery): string {
  const [path, own = ''] = collection.split('?', 2) as [string, string?];
  const params = new URLSearchParams(own);
  params.set('size', String(Math.min(MAX_SIZE, Math.max(MIN_SIZE, Math.trunc(q.size) || MIN_SIZE))));
  if (q.offset) params.set('offset', q.offset);
  if (q.tags) params.set('tags', q.tags);
  return `${path}?${params.toString()}`;
}

/** The `offset` of a page's `next` (`/services?offset=…`), or null on the last page. */
export function offsetOf(next: string | null | undefined): string | null {
  if (!next) return null;
  const q = next.indexOf('?');
  if (q < 0) return null;
  return new URLSearchParams(next.slice(q + 1)).get('offset');
}

/**
 * The tag filter from what the user typed: tags trimmed, empty ones dropped, joined the way the
 * user separated them (`,` all of them, `/` any); mixing both is ambiguous for Kong, so it is a
 * message, not a query.
 */
export function tagFilter(text: string): { tags: string } | { error: string } {
  const hasAnd = text.includes(',');
  const hasOr = text.includes('/');
  if (hasAnd && hasOr) return { error: 'Use either , (all of the tags) or / (any of them), not both' };
  const sep = hasOr ? '/' : ',';
  return {
    tags: text
      .split(sep)
      .map((t) => t.trim())
      .filter((t) => t !== '')
      .join(sep),
  };
}

/**
 * Paging state of one list: the offsets of the pages before the current one (for Previous) and
 * the current page's; Next pushes, Previous pops, a new filter starts over.
 */
export class PageCursor {
  private readonly before: (string | null)[] = [];
  current: string | null = null;
  next: string | null = null;

  get hasPrevious(): boolean {
    return this.before.length > 0;
  }
  get pageNumber(): number {
    return this.before.length + 1;
  }
  /** Moves to the next page (when there is one). */
  forward(): void {
    if (this.next === null) return;
    this.before.push(this.current);
    this.current = this.next;
    this.next = null;
  }
  back(): void {
    if (this.before.length === 0) return;
    this.current = this.before.pop() ?? null;
    this.next = null;
  }
  restart(): void {
    this.before.length = 0;
    this.current = null;
    this.next = null;
  }
}

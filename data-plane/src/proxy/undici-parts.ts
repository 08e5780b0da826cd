/**
 * undici's Pool, buildConnector and request API, from their own modules rather than undici's index, which
 * loads every part of undici (fetch, WebSocket, EventSource, the cache, the mocks…) and, through
 * `globalThis.Headers`, node's own copy of undici too: ~110 ms of CPU at a worker's start for
 * nothing a proxy uses (docs/dev/architecture.md, "Start time"). Same files as the index's, so
 * one copy of each class whichever way a module imports it (plugins that load on demand import
 * `undici`). undici ships types for its index only: these take the index's.
 *
 * The index is also what puts the promise API (`request`, `stream`, …) on every dispatcher
 * (`Object.assign(Dispatcher.prototype, api)`): a Pool from here has only `dispatch` until some
 * module imports `undici`. `requestOn` is that `request`, called on a given pool, so a caller
 * does not depend on who loaded what first (the response-aggregation plugin's calls failed with
 * "connection failed" when no other module had imported undici's index).
 */
import type * as Undici from 'undici';
// @ts-expect-error -- untyped module; its export is the index's Pool (typed below)
import PoolModule from 'undici/lib/dispatcher/pool.js';
// @ts-expect-error -- untyped module; its export is the index's buildConnector (typed below)
import connectModule from 'undici/lib/core/connect.js';
// @ts-expect-error -- untyped module; its export is Dispatcher.prototype.request (typed below)
import requestModule from 'undici/lib/api/api-request.js';

export const Pool = PoolModule as typeof Undici.Pool;
export type Pool = Undici.Pool;
export const buildConnector = connectModule as typeof Undici.buildConnector;

type RequestOptions = Parameters<Undici.Pool['request']>[0];
type ResponseData = Awaited<ReturnType<Undici.Pool['request']>>;
const request = requestModule as (this: Undici.Dispatcher, options: RequestOptions) => Promise<ResponseData>;

/** `pool.request(options)` (undici's promise API), whether or not undici's index has loaded. */
export function requestOn(pool: Pool, options: RequestOptions): Promise<ResponseData> {
  return request.call(pool, options);
}

/**
 * undici's Pool and buildConnector, from their own modules rather than undici's index, which
 * loads every part of undici (fetch, WebSocket, EventSource, the cache, the mocks…) and, through
 * `globalThis.Headers`, node's own copy of undici too: ~110 ms of CPU at a worker's start for
 * nothing a proxy uses (docs/dev/architecture.md, "Start time"). Same files as the index's, so
 * one copy of each class whichever way a module imports it (plugins that load on demand import
 * `undici`). undici ships types for its index only: these take the index's.
 */
import type * as Undici from 'undici';
// @ts-expect-error -- untyped module; its export is the index's Pool (typed below)
import PoolModule from 'undici/lib/dispatcher/pool.js';
// @ts-expect-error -- untyped module; its export is the index's buildConnector (typed below)
import connectModule from 'undici/lib/core/connect.js';

export const Pool = PoolModule as typeof Undici.Pool;
export type Pool = Undici.Pool;
export const buildConnector = connectModule as typeof Undici.buildConnector;

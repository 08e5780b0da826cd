/**
 * undici's Pool and buildConnector, from their own modules rather than undici's index, which
 * loads every part of undici (fetch, WebSocket, EventSource, the cache, the mocks…) and, through
 * `globalThis.Headers`, node's own copy of undici too: ~110 ms of CPU at a worker's start for
 * nothing a proxy uses (docs/dev/architecture.md, "Start time"). Same files as the index's, so
 * one copy of each class whichever way a module imports it (plugins that load on demand import
 * `undici`).
 */
import Pool from 'undici/lib/dispatcher/pool.js';
import buildConnector from 'undici/lib/core/connect.js';

export { buildConnector, Pool };

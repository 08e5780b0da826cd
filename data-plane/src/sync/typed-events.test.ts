/**
 * The data plane's emitters are typed: a misspelt event name or a wrong payload does not compile.
 * Each `@ts-expect-error` below fails the typecheck if the line under it compiles.
 */
import { expect, it } from 'vitest';
import type { WorkerPool } from '../workers/worker-pool.js';
import type { ConfigClient } from './config-client.js';
import type { SnapshotApplier } from './snapshot-applier.js';

export function wrongUses(client: ConfigClient, applier: SnapshotApplier, pool: WorkerPool): void {
  // @ts-expect-error misspelt event name
  client.on('stat', () => undefined);
  // @ts-expect-error the state is a SyncState, not a number
  client.on('state', (s: number) => s);
  // @ts-expect-error misspelt event name
  applier.on('aplied', () => undefined);
  // @ts-expect-error a rejection carries a code, a reason, a version and a hash
  applier.emit('rejected', { code: 'x' });
  // @ts-expect-error the number of workers, not a string
  pool.emit('workers', 'two');
  // @ts-expect-error a passive health change names upstream, target and health
  pool.on('health', (change: { pid: number }) => change);
}

it('typed emitters refuse wrong event names and payloads (checked by tsc)', () => {
  expect(typeof wrongUses).toBe('function');
});

/** Builds a PluginRequest over a fake IncomingMessage for unit tests of handlers (no sockets). */
import { Readable } from 'node:stream';
import type { IncomingMessage } from 'node:http';
import {
  completeConfig,
  createLogger,
  ROUTE_DEFAULTS,
  type GatehouseConfig,
  type Route,
} from '@gatehouse/shared';
import type { PluginDefinition } from '../api.js';
import { PluginRequest } from './context.js';
import { SnapshotIndex } from './snapshot-view.js';

const logger = createLogger('plugin-unit', { level: 'silent' });
const route: Route = { ...ROUTE_DEFAULTS, id: 'r', name: 'r', service: null, created_at: 0, updated_at: 0 };

export interface FakeRequest {
  method?: string;
  path?: string;
  query?: string;
  headers?: [string, string][];
  body?: string;
}

export function fakeContext(snapshot: SnapshotIndex, r: FakeRequest = {}): PluginRequest {
  const body = r.body ?? '';
  const req = Readable.from(body === '' ? [] : [Buffer.from(body)]) as unknown as IncomingMessage;
  (req as { rawHeaders: string[] }).rawHeaders = (r.headers ?? []).flat();
  return new PluginRequest(
    {
      req,
      method: r.method ?? 'GET',
      path: r.path ?? '/',
      rawPath: r.path ?? '/',
      rawQuery: r.query ?? '',
      host: undefined,
      scheme: 'http',
      clientIp: '127.0.0.1',
      route,
      service: null,
      sendContinue: null,
    },
    snapshot,
    logger,
  );
}

export function snapshotOf(partial: Partial<GatehouseConfig>): SnapshotIndex {
  return new SnapshotIndex(completeConfig(partial));
}

/** Validates `config` with the plugin's schema and runs its init, as apply does. */
export async function initialise<C, S>(
  def: PluginDefinition<C, S>,
  snapshot: SnapshotIndex,
  config: Record<string, unknown>,
): Promise<S> {
  const { schema } = await import('@gatehouse/shared');
  const value = schema.validate(def.schema, config).value;
  const info = {
    id: 'p',
    name: def.name,
    instanceName: null,
    route: null,
    service: null,
    consumer: null,
    consumerGroup: null,
  };
  return def.init === undefined
    ? (value as S)
    : def.init(value as C, { snapshot, instance: info, log: logger });
}

/** Runs a handler, awaiting it when it returns a promise. */
export async function run(result: void | Promise<void>): Promise<void> {
  if (result !== undefined) await result;
}

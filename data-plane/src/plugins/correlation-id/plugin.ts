/**
 * correlation-id (Kong priority 100001): gives every request an id in `header_name` — the
 * client's when it sent a non-empty one, else a generated one, sent upstream — and, with
 * `echo_downstream`, the same id on the response (also on short-circuits and gateway errors).
 *
 * Generators (Kong's): `uuid` a random UUID v4; `uuid#counter` a UUID drawn once per worker
 * process then `#<n>` counting that worker's requests; `tracker` Kong's
 * `<server addr>-<server port>-<pid>-<connection>-<request on connection>-<seconds.millis>`, here
 * `<hostname>-<listener port>-<pid>-<n>-<seconds.millis>` with `n` the worker's request counter
 * (the plugin API exposes neither the server address nor connection serials).
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { definePlugin, type PluginContext } from '../api.js';
import { correlationIdSpec } from './schema.js';

/** The worker's uuid#counter prefix and request counter (Kong's init_worker). */
const workerUuid = randomUUID();
let counter = 0;
const host = hostname();

const GENERATORS: Readonly<Record<string, (ctx: PluginContext) => string>> = {
  uuid: () => randomUUID(),
  'uuid#counter': () => `${workerUuid}#${++counter}`,
  tracker: (ctx) =>
    `${host}-${ctx.request.port}-${process.pid}-${++counter}-${(Date.now() / 1000).toFixed(3)}`,
};

interface State {
  readonly header: string;
  readonly generate: (ctx: PluginContext) => string;
  readonly echo: boolean;
}

/** The id each request got in access, for the response phase (Kong's kong.ctx.plugin). */
const ids = new WeakMap<PluginContext, string>();

export default definePlugin({
  ...correlationIdSpec,
  init(config): State {
    return {
      header: config.header_name,
      generate: GENERATORS[config.generator]!,
      echo: config.echo_downstream,
    };
  },
  access(ctx, state) {
    let id = ctx.request.header(state.header);
    if (id === undefined || id === '') {
      id = state.generate(ctx);
      ctx.setUpstreamHeader(state.header, id);
    }
    if (state.echo) ids.set(ctx, id);
  },
  response(ctx, state) {
    if (!state.echo) return;
    let id = ids.get(ctx) ?? ctx.request.header(state.header);
    if (id === undefined || id === '') id = state.generate(ctx);
    ctx.setResponseHeader(state.header, id);
  },
});

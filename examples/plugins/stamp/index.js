// @ts-check
/**
 * Example custom plugin for Gatehouse: stamps requests and responses with a configured value.
 * Load it with `--plugins-dir examples/plugins` on the control plane (schema validation) and on
 * every data plane (execution), then configure it like any plugin:
 *
 *   curl -X POST :8001/routes/my-route/plugins -d name=stamp -d config.value=blue
 *
 * Plain JavaScript (ESM) so that Node loads it as it is; the JSDoc types come from the plugin API:
 * the config type of `init` is inferred from `schema` (kept literal with `@type {const}`), so a
 * misspelt field fails `tsc -p examples/plugins`.
 */

/** The `config` record, in Kong's schema shape. */
const schema = /** @type {const} */ ({
  type: 'record',
  required: true,
  fields: {
    header_name: {
      type: 'string',
      required: true,
      default: 'X-Stamp',
      match: "^[A-Za-z0-9!#$%&'*+.^_`|~-]+$",
      description: 'Header set on the upstream request (and on the response).',
    },
    value: { type: 'string', required: true, len_min: 1, description: 'The stamp.' },
    on_response: { type: 'boolean', required: true, default: true },
    with_consumer: { type: 'boolean', required: true, default: false },
  },
});

/** @typedef {{ header: string; value: string; onResponse: boolean; withConsumer: boolean }} StampState */

/** @type {import('@gatehouse/data-plane/plugins').PluginDefinition<typeof schema, StampState>} */
const stamp = {
  name: 'stamp',
  version: '1.0.0',
  // Below the auth plugins (key-auth is 1250), so a consumer is known when it runs.
  priority: 800,
  schema,
  // Once per snapshot: turn the config into what the handlers read.
  init(config) {
    return {
      header: config.header_name.toLowerCase(),
      value: config.value,
      onResponse: config.on_response,
      withConsumer: config.with_consumer,
    };
  },
  access(ctx, state) {
    const consumer =
      state.withConsumer && ctx.consumer !== null
        ? `;consumer=${ctx.consumer.username ?? ctx.consumer.id}`
        : '';
    ctx.setUpstreamHeader(state.header, state.value + consumer);
  },
  response(ctx, state) {
    if (state.onResponse) ctx.setResponseHeader(state.header, state.value);
  },
};

export default stamp;

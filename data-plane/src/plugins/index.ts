/**
 * `@gatehouse/data-plane/plugins`: the plugin API, the registry with every bundled handler, and
 * the schema DSL. The control plane imports `@gatehouse/data-plane/schemas` instead (no handlers).
 */
export * from './api.js';
export { PluginErrors, HANDLER_FAILED } from './errors.js';
export { loadPluginRegistry, PluginRegistry, BUNDLED_PLUGINS, type PluginDescription } from './registry.js';
export { loadCustomPlugins } from './custom-loader.js';
export { schema } from '@gatehouse/shared';
export * from './schemas.js';

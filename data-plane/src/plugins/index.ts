/**
 * `@gatehouse/data-plane/plugins`: the plugin API, the registry and the schema DSL, without
 * starting anything (the CP imports this to validate and describe plugin configs).
 */
export * from './api.js';
export { PluginErrors, HANDLER_FAILED } from './errors.js';
export {
  loadPluginRegistry,
  PluginRegistry,
  BUNDLED_PLUGINS,
  type PluginSummary,
  type PluginScope,
} from './registry.js';
export { loadCustomPlugins } from './custom-loader.js';
export { schema } from '@gatehouse/shared';
export * from './schemas.js';

export {
  DeclarativeErrors,
  declarativeProblems,
  formatProblems,
  KONG_DECLARATIVE_CONFIG_CODE,
  type DeclarativeProblem,
} from './errors.js';
export { parseDeclarative, type DeclarativeDocument, type ParseOptions } from './parse.js';
export {
  FORMAT_VERSION,
  toConfig,
  type GeneratedField,
  type ToConfigOptions,
  type ToConfigResult,
} from './resolve.js';
export { fromConfig, type FromConfigOptions } from './export.js';
export { loadDeclarativeFile, type LoadDeclarativeOptions } from './load.js';
export { KIND_SPECS, KIND_SPEC, UNSUPPORTED_KINDS, UNSUPPORTED_FIELDS, type KindSpec } from './schema.js';
export { entityId, uuidv5, DECLARATIVE_NAMESPACE } from './uuid.js';
export type { PluginSchemas } from './validators.js';

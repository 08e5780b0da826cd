/**
 * Kong-style schema DSL: fields are plain objects shaped like Kong's (`type`, `required`,
 * `default`, `one_of`, `between`, `match`, `len_min`, `elements`, `fields`, `entity_checks`,
 * `custom_validator`). `validate` fills defaults and throws Kong's schema violation with nested
 * field errors; `describe` renders Kong's JSON for `GET /schemas/...`. Plugin configurations and
 * entities (shared/src/entities) are written in it; `typedefs` holds Kong's typedefs.
 */
export type * from './types.js';
export type { Infer, InferValue } from './infer.js';
export { check, checkRecord, validate, type CheckOptions, type CheckResult, type Rules } from './validate.js';
export { describe, describeEntity, describePluginSchema, type KongFieldJson } from './describe.js';
export * as t from './builders.js';
export * as typedefs from './typedefs.js';

export * from './errors.js';
export {
  isUuid,
  deepMerge,
  getOwn,
  putOwn,
  hasNul,
  inputProblems,
  isForbiddenKey,
  FORBIDDEN_KEYS,
  MAX_INPUT_DEPTH,
  NUL_MESSAGE,
  UNKNOWN_FIELD,
  type InputProblem,
} from '../schema/values.js';
export { checkEntity, type Specs } from './validate.js';
export * from './service.js';
export * from './route.js';
export * from './coerce.js';
export * from './upstream.js';
export * from './target.js';
export * from './consumer.js';
export * from './plugin.js';
export * from './certificate.js';
export * from './credentials.js';
export * from './key.js';
export * from './key-set.js';
export * from './vault.js';
export { randomKey } from './common.js';
export { parseHostPort } from '../schema/hosts.js';
export * from './registry.js';

export { createConfigRouter, type ConfigRouterOptions } from './router.js';
export { importDeclarative, diffDeclarative, type ImportOptions, type ImportResult } from './import.js';
export {
  carryStoredValues,
  describeChanges,
  formatChanges,
  entityLabel,
  type Change,
  type ChangeAction,
} from './diff.js';
export { declarativeErrorBody } from './kong-errors.js';

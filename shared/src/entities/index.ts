export * from './errors.js';
export { FieldError, isUuid, type FieldKind, type FieldSpec } from './fields.js';
export { validateFields, type Specs } from './validate.js';
export * from './service.js';
export * from './route.js';
export * from './coerce.js';

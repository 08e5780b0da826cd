export * from './node.js';
export * from './scope.js';
export * from './slice.js';

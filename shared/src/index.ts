export * from './config/model.js';
export * from './errors.js';
export * from './logger.js';
export * from './version.js';
export * from './settings.js';
export * from './snapshot/canonical.js';
export * from './snapshot/keys.js';
export * from './snapshot/signed-snapshot.js';

export { createAdminApp, type AdminAppOptions } from './app.js';
export { AdminErrors } from './errors.js';

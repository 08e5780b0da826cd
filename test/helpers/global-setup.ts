/**
 * Vitest global setup of the integration and e2e projects: the migrated PGlite template is made
 * once before the test files start (each would otherwise race to make its own on a cold machine).
 */
import { pgliteTemplate } from './pglite-template.js';

export async function setup(): Promise<void> {
  await pgliteTemplate();
}

export { openDatabase, DatabaseErrors, DEFAULT_PRISMA_DIR } from './database.js';
export type { Database, OpenDatabaseOptions, PrismaClient } from './database.js';

import { adminQueryContract } from './admin-query-contract.js';

adminQueryContract('pglite');

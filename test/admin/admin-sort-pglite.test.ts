import { adminSortContract } from './admin-sort-contract.js';

adminSortContract('pglite');

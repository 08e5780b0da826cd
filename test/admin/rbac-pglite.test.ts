import { rbacContract } from './rbac-contract.js';

rbacContract('pglite');

import { adminEndpointsContract } from './admin-endpoints-contract.js';

adminEndpointsContract('pglite');

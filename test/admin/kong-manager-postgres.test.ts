import { kongManagerContract } from './kong-manager-contract.js';

kongManagerContract('postgres');

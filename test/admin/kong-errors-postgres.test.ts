import { kongErrorsContract } from './kong-errors-contract.js';

kongErrorsContract('postgres');

import { pluginsParityContract } from './plugins-parity-contract.js';

pluginsParityContract('postgres');

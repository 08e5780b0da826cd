import { adminApiContract } from './admin-contract.js';

adminApiContract('postgres');

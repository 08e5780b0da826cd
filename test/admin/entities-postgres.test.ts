import { entitiesContract } from './entities-contract.js';

entitiesContract('postgres');

import { emptyArraysContract } from './empty-arrays-contract.js';

emptyArraysContract('postgres');

import { auditLogContract } from './audit-log-contract.js';

auditLogContract('postgres');

export {
  ConfigStore,
  type ChangeListener,
  type ConfigStoreOptions,
  type ConfigWriter,
  type Tx,
} from './config-store.js';
export { ServiceRepository, findService } from './services.js';
export { RouteRepository, findRoute, type RouteListOptions } from './routes.js';
export { serviceFromRow, routeFromRow } from './mappers.js';
export {
  DEFAULT_PAGE_SIZE,
  MAX_PAGE_SIZE,
  parseSize,
  parseTags,
  encodeOffset,
  decodeOffset,
  type ListOptions,
  type Page,
} from './pagination.js';
export { EntityRepository, type ParentScope } from './entity-repository.js';
export { ENTITY_DEFS, type EntityKey } from './entity-defs.js';
export { PluginRepository, type PluginSchemas } from './plugins.js';
export { CertificateRepository, type CertificateView } from './certificates.js';
export { MembershipRepository } from './memberships.js';
export { type ConfigChanges, type EntityChanges, type ReplaceResult } from './replace.js';

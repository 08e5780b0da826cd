export {
  ConfigStore,
  type ChangeListener,
  type ConfigStoreOptions,
  type Repositories,
  type RepositoryKind,
} from './config-store.js';
export type { ConfigWriter, Db, Tx } from './tx.js';
export {
  DEFAULT_PAGE_SIZE,
  MAX_PAGE_SIZE,
  MAX_FILTER_TAGS,
  invalidOption,
  invalidOptions,
  parseSize,
  parseTags,
  encodeOffset,
  decodeOffset,
  type ListOptions,
  type Page,
} from './pagination.js';
export { listOrder, sortField, sortFields, sortProblem, type ListSort, type SortField } from './sort.js';
export { EntityRepository, type ParentScope } from './entity-repository.js';
export { PluginRepository, pluginValidator, type PluginSchemas } from './plugins.js';
export { CertificateRepository, type CertificateView } from './certificates.js';
export { MembershipRepository } from './memberships.js';
export type { TagRow } from './tags.js';
export { type ConfigChanges, type EntityChanges, type ReplaceResult } from './replace.js';

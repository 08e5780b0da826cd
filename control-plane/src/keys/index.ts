export {
  DEFAULT_SIGNING_KEY_DAYS,
  hasCertifiedKeys,
  readKeySet,
  REVOCATIONS_FILE,
  revokeSigningKey,
  rotateSigningKey,
  SIGNING_KEYS_DIR,
  type StoredKeySet,
  type StoredSigningKey,
} from './key-store.js';
export { DEFAULT_KEYS_RELOAD_MS, SigningKeyring, type KeyringEntry } from './keyring.js';
export { createKeysRouter, listKeys, type KeyStatus } from './router.js';

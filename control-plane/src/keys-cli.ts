/**
 * `gatehouse keys generate|root|rotate|revoke`. Loaded by cli.ts only for that command: it needs
 * the key files and jose, nothing of the running control plane (a rotation on the CP's host then
 * takes a fraction of the CPU the whole CLI took: docs/chaos.md, "Where the time goes").
 */
import { resolve } from 'node:path';
import { isGatehouseError } from '@gatehouse/shared/errors';
import { writeSigningKeyPair } from '@gatehouse/shared/snapshot/keys';
import { writeRootKeyPair } from '@gatehouse/shared/snapshot/root-keys';
import {
  parseSettings,
  settingsHelp,
  SettingsError,
  type SettingSpec,
  type SettingValue,
} from '@gatehouse/shared/settings';
import { DEFAULT_SIGNING_KEY_DAYS, revokeSigningKey, rotateSigningKey } from './keys/key-store.js';
import { fail, runGenerate, type GenerateCommand } from './generate-cli.js';

const KEYS_SETTINGS: SettingSpec[] = [
  {
    key: 'dir',
    flag: 'dir',
    env: ['GATEHOUSE_KEYS_DIR'],
    kind: 'string',
    default: '.gatehouse/keys',
    description: 'Folder to write the key pair into.',
  },
  {
    key: 'force',
    flag: 'force',
    env: [],
    kind: 'bool',
    default: 'false',
    description: 'Replace an existing key pair.',
  },
];

const KEYS_COMMAND: GenerateCommand = {
  noun: 'keys',
  usage:
    'gatehouse keys generate [--dir DIR] [--force]   (plain mode)\n' +
    '       gatehouse keys root --out DIR | rotate --root-key FILE [--dir DIR] | revoke KID --root-key FILE [--dir DIR]',
  description:
    'Writes an Ed25519 snapshot signing key pair: the private key for the control plane and a JWKS of\npublic keys for the data planes (--trusted-keys).',
  settings: KEYS_SETTINGS,
  async write(v) {
    const r = await writeSigningKeyPair(resolve(v.dir as string), { force: v.force as boolean });
    return [
      `kid:          ${r.kid}`,
      `private key:  ${r.privateKeyFile}   (control plane: --signing-key)`,
      `public keys:  ${r.publicKeysFile}   (data planes: --trusted-keys)`,
    ];
  },
};

const ROOT_KEY_SETTING: SettingSpec = {
  key: 'rootKey',
  flag: 'root-key',
  env: ['GATEHOUSE_ROOT_KEY'],
  kind: 'string',
  description:
    'The root PRIVATE key (snapshot-root.key.json from `gatehouse keys root`; keep it offline). Required.',
};
const SIGNING_KEYS_DIR_SETTING: SettingSpec = {
  key: 'dir',
  flag: 'dir',
  env: ['GATEHOUSE_SIGNING_KEYS_DIR'],
  kind: 'string',
  default: '.gatehouse/cp/keys',
  description: "The control plane's signing keys folder (its --signing-keys-dir; default <data-dir>/keys).",
};

/** `gatehouse keys root|rotate|revoke`: root-certified signing keys (docs/security.md, "Signing keys"). */
interface KeysSubcommand {
  usage: string;
  description: string;
  settings: readonly SettingSpec[];
  run(values: Record<string, SettingValue>, positionals: string[]): Promise<string[]>;
}

const KEYS_SUBCOMMANDS: Record<string, KeysSubcommand> = {
  root: {
    usage: 'gatehouse keys root --out DIR [--force]',
    description:
      'Writes the root key pair that certifies snapshot signing keys: snapshot-root.key.json (PRIVATE: keep it\noffline, e.g. on removable media; it is needed only to rotate and revoke) and snapshot-root.pub.json\n(give it to every data plane: --cluster-root-key).',
    settings: [
      {
        key: 'out',
        flag: 'out',
        env: [],
        kind: 'string',
        description: 'Folder to write the root key pair into (required).',
      },
      {
        key: 'force',
        flag: 'force',
        env: [],
        kind: 'bool',
        default: 'false',
        description: 'Replace an existing root key.',
      },
    ],
    async run(v) {
      if (typeof v.out !== 'string') fail('missing --out DIR');
      const r = await writeRootKeyPair(resolve(v.out), { force: v.force as boolean });
      return [
        `root kid:     ${r.kid}`,
        `private key:  ${r.privateKeyFile}   (keep offline: gatehouse keys rotate/revoke --root-key)`,
        `public key:   ${r.publicKeyFile}   (data planes: --cluster-root-key)`,
      ];
    },
  },
  rotate: {
    usage: 'gatehouse keys rotate --root-key FILE [--dir DIR] [--days N]',
    description:
      "Adds a new snapshot signing key, certified by the root key, to a control plane's signing keys folder.\nThe control plane signs with it within seconds; data planes that trust the root accept it at once.",
    settings: [
      ROOT_KEY_SETTING,
      SIGNING_KEYS_DIR_SETTING,
      {
        key: 'days',
        flag: 'days',
        env: [],
        kind: 'int',
        min: 1,
        max: 3650,
        default: String(DEFAULT_SIGNING_KEY_DAYS),
        description: "The certificate's validity in days.",
      },
    ],
    async run(v) {
      if (typeof v.rootKey !== 'string') fail('missing --root-key FILE');
      const r = await rotateSigningKey(resolve(v.dir as string), resolve(v.rootKey), {
        days: v.days as number,
      });
      return [
        `kid:          ${r.kid}`,
        `key:          ${r.keyFile}`,
        `certificate:  ${r.certificateFile}   (valid until ${new Date(r.claims.expires_at * 1000).toISOString()})`,
      ];
    },
  },
  revoke: {
    usage: 'gatehouse keys revoke KID --root-key FILE [--dir DIR] [--force]',
    description:
      'Issues a new revocation list (signed by the root key) with KID added. The control plane sends it with\nevery snapshot; data planes then refuse anything signed by KID.',
    settings: [
      ROOT_KEY_SETTING,
      SIGNING_KEYS_DIR_SETTING,
      {
        key: 'force',
        flag: 'force',
        env: [],
        kind: 'bool',
        default: 'false',
        description: 'Revoke even the last key the control plane could sign with.',
      },
    ],
    async run(v, positionals) {
      if (typeof v.rootKey !== 'string') fail('missing --root-key FILE');
      const [kid, extra] = positionals;
      if (kid === undefined) fail('missing the key id to revoke');
      if (extra !== undefined) fail(`unexpected argument "${extra}"`);
      const r = await revokeSigningKey(resolve(v.dir as string), resolve(v.rootKey), kid, {
        force: v.force as boolean,
      });
      return [
        `revocation list version ${r.claims.version}: ${r.claims.revoked.join(', ')}`,
        `written to    ${r.file}`,
      ];
    },
  },
};

export async function runKeys(argv: string[]): Promise<void> {
  const [sub, ...rest] = argv;
  if (sub === undefined || !Object.hasOwn(KEYS_SUBCOMMANDS, sub)) return runGenerate(argv, KEYS_COMMAND);
  const cmd = KEYS_SUBCOMMANDS[sub]!;
  let parsed;
  try {
    parsed = parseSettings(cmd.settings, rest);
  } catch (e) {
    if (e instanceof SettingsError) fail(e.message);
    throw e;
  }
  if (parsed.help) {
    process.stdout.write(settingsHelp(cmd.usage, cmd.description, cmd.settings));
    return;
  }
  try {
    process.stdout.write((await cmd.run(parsed.values, parsed.positionals)).join('\n') + '\n');
  } catch (e) {
    if (isGatehouseError(e)) fail(e.message, 1);
    throw e;
  }
}

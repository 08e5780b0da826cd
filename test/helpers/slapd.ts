/**
 * A private OpenLDAP server for a test: `slapd` (Debian's package; `.ci/run` installs it) on a
 * free port with its own slapd.conf and mdb database in a temp folder, seeded with `slapadd`.
 * It runs in the foreground with the `stats` log level, so `binds()` counts the BIND operations
 * it served (a test proves a cache hit did not reach LDAP). `stop()` kills it, `start()` brings
 * it back on the same port with the same data, `close()` removes the folder.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './nats-server.js';
import { portAnswers } from './ports.js';

export interface LdapUser {
  /** The `uid` (the entry is `uid=<uid>,ou=people,<suffix>`). */
  uid: string;
  password: string;
  /** The uid as written in the entry's DN when it needs RFC 4514 escapes (`smith\\2C j`). */
  dnValue?: string;
}

export interface Slapd {
  readonly port: number;
  /** `ou=people,dc=example,dc=org`: the base_dn of the seeded users. */
  readonly baseDn: string;
  /** BIND operations served since the first start, by DN as slapd logged it. */
  binds(): string[];
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

export const SLAPD_BIN = process.env.SLAPD_BIN ?? '/usr/sbin/slapd';
const SLAPADD_BIN = process.env.SLAPADD_BIN ?? '/usr/sbin/slapadd';
const SUFFIX = 'dc=example,dc=org';

function conf(dir: string): string {
  return [
    'include /etc/ldap/schema/core.schema',
    'include /etc/ldap/schema/cosine.schema',
    'include /etc/ldap/schema/inetorgperson.schema',
    `pidfile ${join(dir, 'slapd.pid')}`,
    'modulepath /usr/lib/ldap',
    'moduleload back_mdb',
    'database mdb',
    'maxsize 10485760',
    `suffix "${SUFFIX}"`,
    `rootdn "cn=admin,${SUFFIX}"`,
    `directory ${join(dir, 'db')}`,
    // Anyone may bind (authenticate) against userPassword; nobody reads it.
    'access to attrs=userPassword by anonymous auth by * none',
    'access to * by * read',
    '',
  ].join('\n');
}

/** The seed LDIF: the suffix, ou=people and one inetOrgPerson per user (`cn` is the uid too). */
export function seedLdif(users: readonly LdapUser[]): string {
  const entries = [
    `dn: ${SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example`,
    `dn: ou=people,${SUFFIX}\nobjectClass: organizationalUnit\nou: people`,
    ...users.map(
      (u) =>
        `dn: uid=${u.dnValue ?? u.uid},ou=people,${SUFFIX}\nobjectClass: inetOrgPerson\nuid: ${u.uid}\ncn: ${u.uid}\n` +
        `sn: ${u.uid}\nuserPassword:: ${Buffer.from(u.password).toString('base64')}`,
    ),
  ];
  return entries.join('\n\n') + '\n';
}

export async function startSlapd(users: readonly LdapUser[]): Promise<Slapd> {
  const dir = mkdtempSync(join(tmpdir(), 'gh-slapd-'));
  mkdirSync(join(dir, 'db'));
  const confFile = join(dir, 'slapd.conf');
  writeFileSync(confFile, conf(dir));
  writeFileSync(join(dir, 'seed.ldif'), seedLdif(users));
  execFileSync(SLAPADD_BIN, ['-f', confFile, '-l', join(dir, 'seed.ldif')], { stdio: 'pipe' });
  const port = await freePort();
  const log: string[] = [];
  let child: ChildProcess | null = null;

  const start = async () => {
    const c = spawn(SLAPD_BIN, ['-f', confFile, '-h', `ldap://127.0.0.1:${port}/`, '-d', 'stats'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    child = c;
    let partial = '';
    c.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop()!;
      log.push(...lines);
    });
    const deadline = Date.now() + 20_000;
    for (;;) {
      if (c.exitCode !== null) throw new Error(`slapd exited (${c.exitCode}):\n${log.join('\n')}`);
      if (await portAnswers(port)) return;
      if (Date.now() > deadline) throw new Error(`slapd did not answer on ${port}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const stop = async () => {
    const c = child;
    child = null;
    if (c === null || c.exitCode !== null) return;
    const exited = new Promise((resolve) => c.once('exit', resolve));
    c.kill('SIGKILL');
    await exited;
  };
  await start();
  return {
    port,
    baseDn: `ou=people,${SUFFIX}`,
    binds: () =>
      log.flatMap((l) => {
        const m = / BIND dn="(.*)" method=/.exec(l);
        return m === null ? [] : [m[1]!];
      }),
    stop,
    start,
    async close() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The highest snapshot version this data plane has accepted, kept in `<dataDir>/highest-version`
 * (JSON `{"version":"740","hash":"…","at":"…"}`, written atomically after every accepted signed
 * snapshot, after the cache). At boot an older cached snapshot is refused (a rollback: an old
 * signed cache put back on the disk still verifies), and the stream never applies a version
 * below it; the operator may allow it explicitly (`--allow-version-rollback`).
 *
 * A file that cannot be read or parsed is reported (`unreadable`) rather than taken as "no floor":
 * the boot cache is then refused too (the CP, once reached, is authoritative and rewrites it).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '@gatehouse/shared';
import { writeFileAtomic } from './atomic-file.js';

export const VERSION_FLOOR_FILE = 'highest-version';

export class VersionFloor {
  readonly file: string;
  private highest: bigint | null = null;
  private problem: string | null = null;
  private chain: Promise<void> = Promise.resolve();

  constructor(
    dataDir: string,
    private readonly logger: Logger,
  ) {
    this.file = join(dataDir, VERSION_FLOOR_FILE);
  }

  /** The highest version accepted, or null when none was recorded (or the file is unreadable). */
  get version(): bigint | null {
    return this.highest;
  }

  /** Why the file could not be read (null when it was read, or is absent). */
  get unreadable(): string | null {
    return this.problem;
  }

  /** Reads the file; never throws. */
  async load(): Promise<void> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
      this.problem = `cannot read ${this.file}: ${(e as Error).message}`;
      return;
    }
    try {
      const parsed = JSON.parse(text) as { version?: unknown };
      if (typeof parsed?.version !== 'string' || !/^\d{1,20}$/.test(parsed.version))
        throw new Error('no version');
      this.highest = BigInt(parsed.version);
    } catch {
      this.problem = `${this.file} is not a highest-version record`;
    }
  }

  /** Records an accepted version (written only when it differs from the one recorded). */
  record(version: bigint, hash: string): Promise<void> {
    const run = this.chain.then(async () => {
      if (this.highest === version && this.problem === null) return;
      try {
        const body = JSON.stringify({ version: version.toString(), hash, at: new Date().toISOString() });
        await writeFileAtomic(this.file, `${body}\n`);
        this.highest = version;
        this.problem = null;
      } catch (e) {
        this.logger.error({ err: e, file: this.file }, 'cannot write the highest accepted version');
      }
    });
    this.chain = run;
    return run;
  }
}

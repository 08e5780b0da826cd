/**
 * What each `gatehouse` command of this package loads before it runs: cli.ts imports every
 * command's module on demand, so `gatehouse keys rotate|revoke` (run on a CP's host while it
 * serves, and beside data planes in chaos F28) loads the key files and jose, not the control
 * plane's database, gRPC, NATS or Admin API. The whole CLI used to load for it: 1.9–2.4 s of CPU
 * per command against 0.4 s now (docs/chaos.md, "Where the time goes").
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { packagesReached } from '@gatehouse/shared/dev/static-imports';

const SRC = dirname(fileURLToPath(import.meta.url));
/** `@gatehouse/shared/<path>` is followed into shared/src (its package.json's `./*` export). */
const WALK = { base: SRC, sources: { '@gatehouse/shared': join(SRC, '..', '..', 'shared', 'src') } };

const packages = (entry: string) => [...packagesReached(join(SRC, entry), WALK).keys()].sort();

describe('gatehouse command imports', () => {
  it('the entry loads no command: each loads on demand', () => {
    expect(packages('cli.ts')).toEqual([]);
  });

  it('gatehouse keys loads jose and nothing of the running control plane', () => {
    expect(packages('keys-cli.ts')).toEqual(['jose']);
  });

  it('gatehouse certs loads the X.509 library and nothing of the running control plane', () => {
    expect(packages('certs-cli.ts')).toEqual(['@peculiar/x509', 'reflect-metadata']);
  });

  it('gatehouse cp does load the control plane (the walk follows its imports)', () => {
    const reached = packages('cp-cli.ts');
    expect(reached).toContain('@grpc/grpc-js');
    expect(reached).toContain('@electric-sql/pglite');
  });
});

/**
 * The decoder fuzzer's body, run in a child process with a capped heap by decoders.test.ts (so
 * an input that allocates without bound ends the process instead of passing slowly): generated
 * declarative files through the DB-less loader (`parseDeclarative` + `toConfig`, YAML and JSON),
 * and generated snapshot cache files / wire messages through the DP's decoder and verifier
 * (`SnapshotCache.loadVerified`, `verifySnapshot`). Every input is accepted or refused with a
 * GatehouseError; nothing else is thrown, the cache never throws, no prototype is written.
 * Prints one JSON line: `{ ok: true, runs }` or `{ ok: false, error }`.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { importJWK } from 'jose';
import { toBinary } from '@bufbuild/protobuf';
import { SnapshotSchema } from '../../proto/src/index.js';
import { isGatehouseError, createLogger } from '../../shared/src/index.js';
import { parseDeclarative, toConfig, KIND_SPECS } from '../../shared/src/declarative/index.js';
import { generateSigningKeyPair, SNAPSHOT_ALG, type KeyObjectLike } from '../../shared/src/snapshot/keys.js';
import {
  signEncodedSnapshot,
  signSnapshot,
  verifySnapshot,
  type SignedSnapshot,
} from '../../shared/src/snapshot/signed-snapshot.js';
import { signedSnapshotToProto } from '../../shared/src/snapshot/proto-snapshot.js';
import { completeConfig } from '../../shared/src/entities/registry.js';
import { SnapshotCache } from '../../data-plane/src/sync/snapshot-cache.js';
import { hostileString, hostileValue } from '../admin/hostile-arbitraries.js';

const RUNS = Number(process.env.GATEHOUSE_FUZZ_RUNS ?? 200);
const seed = process.env.GATEHOUSE_FC_SEED;
if (seed !== undefined && seed !== '') fc.configureGlobal({ seed: Number(seed) });

const PROTOS = [Object.prototype, Array.prototype, Function.prototype, String.prototype];
const pristine = () => PROTOS.map((p) => Object.getOwnPropertyNames(p).sort().join(',')).join('|');
const PRISTINE = pristine();

function expectRefusalOrValue(e: unknown, codePrefix: string, what: string): void {
  if (!isGatehouseError(e) || !e.code.startsWith(codePrefix))
    throw new Error(`${what}: threw ${(e as Error)?.name}: ${String((e as Error)?.message).slice(0, 300)}`, {
      cause: e,
    });
}

function checkPrototypes(what: string): void {
  if (pristine() !== PRISTINE || ({} as Record<string, unknown>).polluted !== undefined)
    throw new Error(`${what}: a prototype was written`);
}

// ---------------------------------------------------------------------------------------------
// Declarative files.

const KINDS = KIND_SPECS.map((s) => s.kind as string);
const FORMAT_VERSIONS = ['3.0', '1.1', '2.1', '3', 3, 3.0, null, '', '3.0\u0000', '99.0', ['3.0'], { v: 1 }];

const nested = (open: string, close: string) =>
  fc.constantFrom(100, 1_000, 10_000, 100_000).map((n) => open.repeat(n) + close.repeat(n));

const aliasBomb = fc
  .tuple(fc.integer({ min: 2, max: 12 }), fc.integer({ min: 2, max: 9 }))
  .map(([width, depth]) => {
    const lines = [`a0: &a0 [${Array(width).fill('"lol"').join(',')}]`];
    for (let d = 1; d < depth; d++)
      lines.push(
        `a${d}: &a${d} [${Array(width)
          .fill(`*a${d - 1}`)
          .join(',')}]`,
      );
    return `_format_version: "3.0"\n${lines.join('\n')}\nservices: *a${depth - 1}\n`;
  });

const RAW_DOCS = [
  'a: &a [*a]\n',
  '_format_version: "3.0"\nservices:\n  - &s {name: a, host: h}\n  - *s\n  - *s\n',
  'x: &x {a: 1}\ny: {<<: [*x, *x, *x]}\n',
  '_format_version: "3.0"\n_format_version: "3.0"\n',
  '_format_version: "3.0"\nservices:\n  - name: a\n    name: b\n    host: h\n',
  '_format_version: !!binary aGVsbG8=\n',
  'services: !!set {a, b}\n',
  'services: !!omap [a: 1, b: 2]\n',
  '!!js/function "function(){}"\n',
  '!custom {a: 1}\n',
  '--- a\n--- b\n',
  '%YAML 1.1\n---\n_format_version: "3.0"\n',
  '_format_version: "3.0"\nservices: [' + '{name: s, host: h},'.repeat(50_000) + ']\n',
  '{"_format_version":"3.0","services":[' + '{},'.repeat(100_000) + '{}]}',
  '{"_format_version":"3.0","__proto__":{"polluted":1}}',
  '_format_version: "3.0"\n__proto__: {polluted: 1}\nconstructor: {prototype: {polluted: 1}}\n',
  '_format_version: "3.0"\nservices:\n' + '  '.repeat(1).concat('- name: x\n') + 'a:\n'.repeat(1),
  Array.from({ length: 2_000 }, (_, i) => `${' '.repeat(i)}a:`).join('\n') + ' 1\n',
  '_format_version: "3.0"\nservices: [{name: "' + 'x'.repeat(1_000_000) + '", host: h}]\n',
  '\uFEFF_format_version: "3.0"\n',
  '\u0000',
];

/** A document of entity lists with hostile entries, as JSON text. */
const entityDoc = fc
  .tuple(
    fc.constantFrom(...FORMAT_VERSIONS),
    fc.array(
      fc.tuple(
        fc.constantFrom(...KINDS, '_transform', '_workspace', '_comment', 'x'),
        fc.array(hostileValue, { maxLength: 4 }),
      ),
      {
        maxLength: 4,
      },
    ),
  )
  .map(([v, lists]) => {
    const doc: Record<string, unknown> = { _format_version: v };
    for (const [k, l] of lists) doc[k] = l;
    return JSON.stringify(doc);
  });

const declarativeText = fc.oneof(
  entityDoc,
  // The same through the YAML parser (JSON is YAML; a leading comment keeps the YAML path).
  entityDoc.map((t) => `# yaml\n${t}`),
  fc.constantFrom(...RAW_DOCS),
  aliasBomb,
  nested('[', ']'),
  nested('{"a":', '}').map((t) => t.replace(/}$/, '1}').replace(/^(.*?)(})/, '$1$2')),
  nested('- ', '').map((t) => `${t}x`),
  nested('[', ']').map((t) => `# yaml\n${t}`),
  hostileString,
  fc.uint8Array({ maxLength: 500 }).map((b) => Buffer.from(b).toString('utf8')),
);

async function fuzzDeclarative(): Promise<void> {
  await fc.assert(
    fc.asyncProperty(
      declarativeText,
      fc.constantFrom('kong.yaml', 'kong.json', undefined),
      async (text, filename) => {
        const what = `declarative ${JSON.stringify(text.slice(0, 120))}`;
        if (process.env.GATEHOUSE_FUZZ_TRACE) process.stderr.write(`${what} (${text.length})\n`);
        try {
          const doc = parseDeclarative(text, filename === undefined ? {} : { filename });
          toConfig(doc, filename === undefined ? {} : { filename });
        } catch (e) {
          expectRefusalOrValue(e, 'GH_ERR_DECLARATIVE', what);
        }
        checkPrototypes(what);
      },
    ),
    { numRuns: RUNS },
  );
}

// ---------------------------------------------------------------------------------------------
// Snapshots: cache files and wire messages.

async function fuzzSnapshots(): Promise<void> {
  const pair = await generateSigningKeyPair();
  const key = { kid: pair.kid, key: await importJWK(pair.privateJwk, SNAPSHOT_ALG) };
  const trusted: ReadonlyMap<string, KeyObjectLike> = new Map([
    [pair.kid, await importJWK(pair.publicJwk, SNAPSHOT_ALG)],
  ]);
  const good = await signSnapshot({ config: completeConfig({}), version: 5n, cpId: 'cp', key, issuedAt: 1 });
  const goodBytes = toBinary(SnapshotSchema, signedSnapshotToProto(good));
  const dir = await mkdtemp(join(tmpdir(), 'gatehouse-decoder-fuzz-'));
  const cache = new SnapshotCache(dir, createLogger('decoder-fuzz', { level: 'silent' }));
  const b64 = (v: unknown) =>
    Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');
  const [h, p, s] = good.jws.split('.') as [string, string, string];

  /** Bytes of a cache file: random, a mutated good one, or a well-formed message with hostile fields. */
  const cacheFile = fc.oneof(
    fc.uint8Array({ maxLength: 2_000 }),
    fc
      .array(
        fc.tuple(
          fc.nat({ max: goodBytes.length - 1 }),
          fc.integer({ min: 0, max: 255 }),
          fc.constantFrom('set', 'insert', 'delete'),
        ),
        {
          minLength: 1,
          maxLength: 8,
        },
      )
      .map((edits) => {
        const b = [...goodBytes];
        for (const [at, v, op] of edits) {
          if (op === 'set') b[at % b.length] = v;
          else if (op === 'insert') b.splice(at, 0, v);
          else b.splice(at, 1);
        }
        return Uint8Array.from(b);
      }),
    fc
      .record({
        jws: fc.oneof(
          hostileString,
          fc.constant(good.jws),
          fc.constantFrom(
            `${b64({ alg: 'none', kid: pair.kid })}.${p}.`,
            `${b64({ alg: 'EdDSA', kid: pair.kid, crit: ['x'] })}.${p}.${s}`,
            `${b64({ alg: 'EdDSA', kid: '__proto__' })}.${p}.${s}`,
            `${b64({ alg: 'HS256', kid: pair.kid })}.${p}.${s}`,
            `${h}.${b64({ ver: '5', hash: good.hash, size: 1e15, iat: 1, cp: 'cp' })}.${s}`,
            `${h}.${b64('x'.repeat(100_000))}.${s}`,
            `${'a'.repeat(200_000)}.${p}.${s}`,
            `${h}..${s}`,
            '...',
          ),
        ),
        version: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
        hash: fc.oneof(fc.constant(good.hash), hostileString),
        config: fc.oneof(
          fc.constant(good.config),
          fc.uint8Array({ maxLength: 1_000 }),
          // A gzip bomb: 64 MiB of zeros in about 64 KiB.
          fc.constant(new Uint8Array(gzipSync(Buffer.alloc(64 * 1024 * 1024)))),
        ),
        compression: fc.constantFrom('gzip', 'identity', 'br', '', '__proto__'),
        uncompressedSize: fc.constantFrom(0, good.uncompressedSize, 2 ** 31 - 1, 2 ** 32 - 1),
      })
      .map((snap) => toBinary(SnapshotSchema, signedSnapshotToProto(snap as SignedSnapshot))),
  );

  try {
    await fc.assert(
      fc.asyncProperty(cacheFile, async (bytes) => {
        const what = `cache file of ${bytes.length} bytes`;
        if (process.env.GATEHOUSE_FUZZ_TRACE)
          process.stderr.write(`${what} ${Buffer.from(bytes).toString('base64').slice(0, 300)}\n`);
        await writeFile(cache.file, bytes);
        let loaded: unknown;
        try {
          loaded = await cache.loadVerified(trusted);
        } catch (e) {
          throw new Error(`${what}: SnapshotCache.loadVerified threw ${(e as Error).message}`, { cause: e });
        }
        // Only the good snapshot verifies.
        if (loaded !== null && Buffer.compare(Buffer.from(bytes), Buffer.from(goodBytes)) !== 0) {
          const v = (loaded as { verified: { hash: string } }).verified;
          if (v.hash !== good.hash)
            throw new Error(`${what}: verified a snapshot that is not the one signed`);
        }
        checkPrototypes(what);
      }),
      { numRuns: RUNS },
    );

    // Behind a valid signature (a compromised key, a CP bug): hostile config bytes.
    const signedConfig = fc.oneof(
      hostileValue.map((v) => JSON.stringify(v) ?? 'null'),
      fc.constantFrom(
        '['.repeat(1_000_000) + ']'.repeat(1_000_000),
        '{"services":[],"routes":[],"__proto__":{"polluted":1}}',
        '{"services":[],"routes":[],"constructor":{"prototype":{"polluted":1}}}',
        '{"services":{},"routes":[]}',
        `{"services":[${'{},'.repeat(100_000)}{}],"routes":[]}`,
        '{"services":[],"routes":[],"plugins":"x"}',
      ),
      hostileValue.map((v) => JSON.stringify({ services: [v], routes: [v], plugins: [v] })),
    );
    await fc.assert(
      fc.asyncProperty(signedConfig, async (text) => {
        const what = `signed config ${JSON.stringify(text.slice(0, 120))}`;
        if (process.env.GATEHOUSE_FUZZ_TRACE) process.stderr.write(`${what}\n`);
        const bytes = Buffer.from(text);
        const hash = createHash('sha256').update(bytes).digest('hex');
        const snap = await signEncodedSnapshot({ bytes, hash, version: 9n, cpId: 'cp', key, issuedAt: 1 });
        try {
          await verifySnapshot(snap, trusted);
        } catch (e) {
          expectRefusalOrValue(e, 'GH_ERR_SNAPSHOT', what);
        }
        checkPrototypes(what);
      }),
      { numRuns: Math.max(20, Math.floor(RUNS / 4)) },
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

try {
  await fuzzDeclarative();
  await fuzzSnapshots();
  process.stdout.write(`${JSON.stringify({ ok: true, runs: RUNS })}\n`);
} catch (e) {
  process.stdout.write(`${JSON.stringify({ ok: false, error: String((e as Error).message) })}\n`);
  process.exitCode = 1;
}

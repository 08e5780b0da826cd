import { fromBinary, toBinary } from '@bufbuild/protobuf';
import { SnapshotSchema } from '@gatehouse/proto';
import { describe, expect, it } from 'vitest';
import { isGatehouseError } from '../errors.js';
import { signedSnapshotFromProto, signedSnapshotToProto } from './proto-snapshot.js';
import type { SignedSnapshot } from './signed-snapshot.js';

const snapshot = (fields: Partial<SignedSnapshot> = {}): SignedSnapshot => ({
  version: 42n,
  hash: 'ab'.repeat(32),
  jws: 'header..signature',
  config: Buffer.from([0x1f, 0x8b, 0, 1, 2, 255]),
  compression: 'gzip',
  uncompressedSize: 123_456,
  ...fields,
});

describe('SignedSnapshot <-> protobuf', () => {
  it('round-trips every field through the wire bytes', () => {
    for (const s of [
      snapshot(),
      snapshot({ compression: 'identity', config: Buffer.alloc(0), uncompressedSize: 0 }),
      snapshot({ version: 2n ** 63n - 1n, uncompressedSize: Number.MAX_SAFE_INTEGER }),
    ]) {
      const back = signedSnapshotFromProto(
        fromBinary(SnapshotSchema, toBinary(SnapshotSchema, signedSnapshotToProto(s))),
      );
      expect({ ...back, config: Buffer.from(back.config) }).toEqual(s);
    }
  });

  it('refuses a compression verifySnapshot cannot take, with a typed error', () => {
    for (const compression of ['', 'GZIP', 'br', 'gzip ', 'identity\0']) {
      const proto = signedSnapshotToProto(snapshot());
      proto.compression = compression;
      let error: unknown = null;
      try {
        signedSnapshotFromProto(proto);
      } catch (e) {
        error = e;
      }
      expect(isGatehouseError(error) && error.code).toBe('GH_ERR_SNAPSHOT_MALFORMED');
    }
  });
});

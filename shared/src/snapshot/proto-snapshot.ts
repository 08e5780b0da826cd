/**
 * The one mapping between a SignedSnapshot (what is signed, verified and cached) and the
 * `Snapshot` protobuf message (what the CP sends over the cluster stream and the DP keeps on
 * disk): the CP encodes with it, the DP decodes the stream and its cache with it.
 */
import { create } from '@bufbuild/protobuf';
import { SnapshotSchema, type Snapshot } from '@gatehouse/proto/gen/gatehouse/v1/cluster_pb';
import { SnapshotErrors } from '../errors.js';
import type { SignedSnapshot } from './signed-snapshot.js';

export function signedSnapshotToProto(s: SignedSnapshot): Snapshot {
  return create(SnapshotSchema, {
    version: s.version,
    hash: s.hash,
    jws: s.jws,
    config: s.config,
    compression: s.compression,
    uncompressedSize: BigInt(s.uncompressedSize),
  });
}

/** Throws GH_ERR_SNAPSHOT_* (malformed) on a compression verifySnapshot cannot take. */
export function signedSnapshotFromProto(s: Snapshot): SignedSnapshot {
  if (s.compression !== 'gzip' && s.compression !== 'identity') {
    throw SnapshotErrors.malformed(`unknown snapshot compression "${s.compression}"`);
  }
  return {
    version: s.version,
    hash: s.hash,
    jws: s.jws,
    config: s.config,
    compression: s.compression,
    uncompressedSize: Number(s.uncompressedSize),
  };
}

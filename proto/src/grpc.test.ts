import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import { ControlPlaneMessageSchema, SnapshotSchema } from '../gen/gatehouse/v1/cluster_pb.js';
import { clusterServiceDefinition, cpMessage, encodeOnce } from './grpc.js';

const serialize = clusterServiceDefinition.connect.responseSerialize;

describe('clusterServiceDefinition', () => {
  const snapshot = () =>
    cpMessage({
      case: 'snapshot',
      value: create(SnapshotSchema, {
        version: 7n,
        hash: 'abc',
        jws: 'x.y.z',
        config: new Uint8Array([1, 2, 3]),
      }),
    });

  it('serializes a message encoded once with the same bytes for every stream (no encode per write)', () => {
    const m = encodeOnce(snapshot());
    const first = serialize(m);
    expect(serialize(m)).toBe(first);
    expect(Buffer.compare(first, Buffer.from(toBinary(ControlPlaneMessageSchema, snapshot())))).toBe(0);
    expect(fromBinary(ControlPlaneMessageSchema, first).message.case).toBe('snapshot');
  });

  it('encodes other messages on each write', () => {
    const m = snapshot();
    expect(serialize(m)).not.toBe(serialize(m));
    expect(Buffer.compare(serialize(m), serialize(m))).toBe(0);
  });
});

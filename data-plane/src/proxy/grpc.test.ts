import { describe, expect, it } from 'vitest';
import { errorResponseOf, ProxyErrorCode } from './errors.js';
import { encodeGrpcMessage, GrpcStatus, grpcStatusOf, isGrpcContentType } from './grpc.js';

describe('gRPC at the proxy', () => {
  it('tells gRPC content types from others (gRPC-Web is not gRPC)', () => {
    for (const ct of [
      'application/grpc',
      'application/grpc+proto',
      'application/grpc;charset=x',
      'Application/GRPC',
    ])
      expect(isGrpcContentType(ct), ct).toBe(true);
    for (const ct of [
      'application/grpc-web',
      'application/grpc-web+proto',
      'application/json',
      'application/grp',
      '',
      null,
      undefined,
    ])
      expect(isGrpcContentType(ct), String(ct)).toBe(false);
  });

  it("derives each error table answer's gRPC status from its HTTP status (Kong's map, 502 → UNAVAILABLE)", () => {
    const of = (code: ProxyErrorCode): number => grpcStatusOf(errorResponseOf(code).status);
    expect(of(ProxyErrorCode.NO_ROUTE)).toBe(GrpcStatus.NOT_FOUND);
    expect(of(ProxyErrorCode.UPSTREAM_UNAVAILABLE)).toBe(GrpcStatus.UNAVAILABLE);
    expect(of(ProxyErrorCode.NO_PEER)).toBe(GrpcStatus.UNAVAILABLE);
    expect(of(ProxyErrorCode.UPSTREAM_TIMEOUT)).toBe(GrpcStatus.DEADLINE_EXCEEDED);
    expect(of(ProxyErrorCode.RATE_LIMITED)).toBe(GrpcStatus.RESOURCE_EXHAUSTED);
    expect(of(ProxyErrorCode.BAD_REQUEST)).toBe(GrpcStatus.INVALID_ARGUMENT);
    expect(of(ProxyErrorCode.INTERNAL)).toBe(GrpcStatus.INTERNAL);
    expect(of(ProxyErrorCode.WAF_BLOCKED)).toBe(GrpcStatus.PERMISSION_DENIED);
    expect(of(ProxyErrorCode.BODY_TOO_LARGE)).toBe(GrpcStatus.UNKNOWN);
    expect(grpcStatusOf(401)).toBe(GrpcStatus.UNAUTHENTICATED);
  });

  it('percent-encodes grpc-message as gRPC does (non-printable bytes and %)', () => {
    expect(encodeGrpcMessage('plain text')).toBe('plain text');
    expect(encodeGrpcMessage('50% off')).toBe('50%25 off');
    expect(encodeGrpcMessage('é\n')).toBe('%C3%A9%0A');
  });
});

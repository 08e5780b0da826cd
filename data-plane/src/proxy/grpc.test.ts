import { describe, expect, it } from 'vitest';
import { errorResponseOf, ProxyErrorCode } from './errors.js';
import type { IncomingMessage } from 'node:http';
import { encodeGrpcMessage, GrpcStatus, grpcStatusOf, isGrpcContentType, isGrpcRequest } from './grpc.js';

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

  it('takes only an HTTP/2 request with a gRPC content type as gRPC, and leaves HTTP/1.x requests unmarked', () => {
    const request = (major: number, contentType: string): IncomingMessage =>
      ({
        httpVersionMajor: major,
        rawHeaders: ['Host', 'x', 'Content-Type', contentType],
      }) as unknown as IncomingMessage;
    expect(isGrpcRequest(request(2, 'application/grpc'))).toBe(true);
    expect(isGrpcRequest(request(2, 'application/json'))).toBe(false);
    const h1 = request(1, 'application/grpc');
    expect(isGrpcRequest(h1)).toBe(false);
    // No property added to an HTTP/1.x request (its shape stays the one node gave it).
    expect(Object.getOwnPropertySymbols(h1)).toEqual([]);
    expect(isGrpcRequest(undefined)).toBe(false);
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

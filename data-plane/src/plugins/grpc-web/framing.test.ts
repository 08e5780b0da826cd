import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ResponseTransform } from '../api.js';
import { grpcWebKindOfType, GrpcWebKind, trailerFrame } from '../../proxy/grpc-web.js';
import {
  checkRequestFrames,
  decodeBase64Chunks,
  JSON_TYPE_MESSAGE,
  UNSUPPORTED_TYPE_MESSAGE,
  webContentType,
} from './framing.js';

/** A gRPC length-prefixed message as PROTOCOL-WEB.md (and gRPC) frame it. */
function frame(payload: Buffer, flag = 0): Buffer {
  const head = Buffer.alloc(5);
  head[0] = flag;
  head.writeUInt32BE(payload.length, 1);
  return Buffer.concat([head, payload]);
}

function transformOf(type: string): ResponseTransform {
  const t = webContentType(type);
  if (!t.ok) throw new Error(type);
  return t.transform;
}

const b64 = (b: Buffer): Buffer => Buffer.from(b.toString('base64'), 'latin1');

describe('plugin grpc-web (framing)', () => {
  it('translates the binary and text content types and names what it refuses', () => {
    expect(webContentType('application/grpc-web')).toMatchObject({
      ok: true,
      text: false,
      mediaType: 'application/grpc-web',
    });
    expect(webContentType('Application/GRPC-Web+Proto; charset=x')).toMatchObject({ ok: true, text: false });
    expect(webContentType('application/grpc-web-text')).toMatchObject({ ok: true, text: true });
    expect(webContentType('application/grpc-web-text+proto')).toMatchObject({ ok: true, text: true });
    expect(webContentType('application/grpc-web+json')).toEqual({ ok: false, message: JSON_TYPE_MESSAGE });
    expect(webContentType('application/json')).toEqual({ ok: false, message: JSON_TYPE_MESSAGE });
    for (const other of ['application/grpc', 'text/plain', 'application/grpc-webx', '', undefined])
      expect(webContentType(other), String(other)).toEqual({ ok: false, message: UNSUPPORTED_TYPE_MESSAGE });
  });

  it('tells gRPC-Web requests (binary, text) from gRPC and others for the gateway answers', () => {
    expect(grpcWebKindOfType('application/grpc-web')).toBe(GrpcWebKind.BINARY);
    expect(grpcWebKindOfType('application/grpc-web+json')).toBe(GrpcWebKind.BINARY);
    expect(grpcWebKindOfType('application/grpc-web-text+proto')).toBe(GrpcWebKind.TEXT);
    expect(grpcWebKindOfType('APPLICATION/GRPC-WEB-TEXT')).toBe(GrpcWebKind.TEXT);
    for (const other of ['application/grpc', 'application/grpc-webby', 'application/grpc-web-textual', null])
      expect(grpcWebKindOfType(other), String(other)).toBe(GrpcWebKind.NONE);
  });

  it('decodes a text body sent as several separately padded base64 chunks', () => {
    const one = frame(Buffer.from('hello'));
    const two = frame(Buffer.from('world!'));
    const body = Buffer.concat([b64(one.subarray(0, 4)), b64(one.subarray(4)), b64(two)]);
    expect(body.toString('latin1')).toContain('=');
    const decoded = decodeBase64Chunks(body);
    expect(decoded).toEqual({ ok: true, bytes: Buffer.concat([one, two]) });
  });

  it('refuses bad base64: characters outside the alphabet, padding inside a group, a dangling group', () => {
    expect(decodeBase64Chunks(Buffer.from('AAAA*AAA'))).toEqual({
      ok: false,
      message: 'invalid base64 body at byte 4',
    });
    expect(decodeBase64Chunks(Buffer.from('A=AA')).ok).toBe(false);
    expect(decodeBase64Chunks(Buffer.from('AA=A')).ok).toBe(false);
    expect(decodeBase64Chunks(Buffer.from('AAAAA'))).toEqual({
      ok: false,
      message: 'invalid base64 body: its length 5 is not a multiple of 4',
    });
    expect(decodeBase64Chunks(Buffer.from('AA-_')).ok).toBe(false);
    expect(decodeBase64Chunks(Buffer.from([0x41, 0x41, 0xc3, 0xa9])).ok).toBe(false);
  });

  it('accepts whole frames and names truncated ones, oversized length prefixes and trailer frames', () => {
    expect(checkRequestFrames(Buffer.alloc(0))).toBeNull();
    expect(
      checkRequestFrames(Buffer.concat([frame(Buffer.from('a')), frame(Buffer.alloc(0), 1)])),
    ).toBeNull();
    expect(checkRequestFrames(Buffer.from([0, 0, 0]))).toBe('truncated gRPC-Web frame header at byte 0');
    expect(checkRequestFrames(frame(Buffer.from('abc')).subarray(0, 7))).toBe(
      'gRPC-Web frame at byte 0 announces 3 bytes, the body holds 2',
    );
    const huge = Buffer.from([0, 0xff, 0xff, 0xff, 0xff, 1, 2]);
    expect(checkRequestFrames(huge)).toBe(
      'gRPC-Web frame at byte 0 announces 4294967295 bytes, the body holds 2',
    );
    expect(checkRequestFrames(frame(Buffer.from('x'), 0x80))).toBe(
      'unexpected trailer frame in the request at byte 0',
    );
    expect(checkRequestFrames(frame(Buffer.from('x'), 2))).toBe('invalid gRPC-Web frame flag 0x2 at byte 0');
  });

  it('builds the trailer frame as an HTTP/1 header block with flag 0x80, base64 in text mode', () => {
    const f = trailerFrame(['grpc-status', '0', 'X-Custom', 'v'], false);
    expect(f[0]).toBe(0x80);
    expect(f.readUInt32BE(1)).toBe(f.length - 5);
    expect(f.subarray(5).toString()).toBe('grpc-status:0\r\nx-custom:v\r\n');
    expect(Buffer.from(trailerFrame(['grpc-status', '0'], true).toString(), 'base64')).toEqual(
      trailerFrame(['grpc-status', '0'], false),
    );
  });

  it('re-types a gRPC response as the request was and ends it with the trailers (text: base64 per chunk)', () => {
    const text = transformOf('application/grpc-web-text');
    const head = text.head(200, ['content-type', 'application/grpc', 'content-length', '9', 'x-a', '1']);
    expect(head).toEqual(['x-a', '1', 'content-type', 'application/grpc-web-text']);
    const msg = frame(Buffer.from('hi'));
    expect(Buffer.from(text.data(msg).toString(), 'base64')).toEqual(msg);
    const end = Buffer.from(text.end(['grpc-status', '5', 'grpc-message', 'gone']).toString(), 'base64');
    expect(end.subarray(5).toString()).toBe('grpc-status:5\r\ngrpc-message:gone\r\n');
    const binary = transformOf('application/grpc-web+proto');
    expect(binary.data(msg)).toBe(msg);
    expect(binary.end(null).subarray(5).toString()).toBe(
      'grpc-status:13\r\ngrpc-message:upstream response ended without grpc-status\r\n',
    );
    expect(binary.end(['x-only', '1']).subarray(5).toString()).toContain('x-only:1\r\ngrpc-status:13');
    // Not a gRPC answer (an HTTP error page, a non-200): passed through unchanged.
    expect(binary.head(503, ['content-type', 'application/grpc'])).toBeNull();
    expect(binary.head(200, ['content-type', 'text/html'])).toBeNull();
  });

  it('never throws on hostile text bodies and frames, and round-trips every encoded body (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const buf = Buffer.from(bytes);
        const decoded = decodeBase64Chunks(buf);
        if (decoded.ok) expect(decoded.bytes.length).toBeLessThanOrEqual((buf.length / 4) * 3);
        else expect(decoded.message).toMatch(/^invalid base64 body/);
        const problem = checkRequestFrames(buf);
        expect(problem === null || typeof problem === 'string').toBe(true);
      }),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 6 }),
        fc.array(fc.nat(8), { maxLength: 6 }),
        (messages, cuts) => {
          const whole = Buffer.concat(messages.map((m) => frame(Buffer.from(m))));
          // The body split at arbitrary points, each part base64-encoded on its own.
          const parts: Buffer[] = [];
          let at = 0;
          for (const c of cuts) {
            parts.push(b64(whole.subarray(at, at + c)));
            at = Math.min(whole.length, at + c);
          }
          parts.push(b64(whole.subarray(at)));
          const decoded = decodeBase64Chunks(Buffer.concat(parts));
          expect(decoded).toEqual({ ok: true, bytes: whole });
          expect(checkRequestFrames(whole)).toBeNull();
          if (whole.length > 0)
            expect(checkRequestFrames(whole.subarray(0, whole.length - 1))).not.toBeNull();
        },
      ),
      { numRuns: 1000 },
    );
  });
});

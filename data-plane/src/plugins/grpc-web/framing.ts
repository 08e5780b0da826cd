/**
 * gRPC-Web's wire forms (grpc/doc/PROTOCOL-WEB.md) as the plugin needs them: the content types it
 * translates, the text mode's base64 (a body may be several padded base64 chunks one after the
 * other), the check of a request's length-prefixed frames before they go upstream, and the
 * response transforms (binary: the bytes as they are; text: each chunk base64 on its own) that end
 * the body with the upstream's trailers as a trailer frame. Pure functions; nothing here throws on
 * hostile input: failures are returned as messages for a 400.
 */
import type { ResponseTransform } from '../api.js';
import { TRAILER_FLAG, trailerFrame } from '../../proxy/grpc-web.js';
import { isGrpcContentType } from '../../proxy/grpc.js';

/** How a request's content type is translated, or why it is not. */
export type WebContentType = Translated | { readonly ok: false; readonly message: string };

/** A content type the plugin translates, with its response transform (no per-request state). */
export interface Translated {
  readonly ok: true;
  readonly text: boolean;
  readonly mediaType: string;
  readonly transform: ResponseTransform;
}

/** The translated content types, each built once. */
const TRANSLATED: ReadonlyMap<string, Translated> = new Map(
  (
    [
      ['application/grpc-web', false],
      ['application/grpc-web+proto', false],
      ['application/grpc-web-text', true],
      ['application/grpc-web-text+proto', true],
    ] as const
  ).map(([mediaType, text]) => [
    mediaType,
    Object.freeze({ ok: true, text, mediaType, transform: transformFor(mediaType, text) }),
  ]),
);

/** Kong's JSON forms (transcoding through `proto`), which this gateway does not offer. */
const JSON_TYPES: ReadonlySet<string> = new Set([
  'application/grpc-web+json',
  'application/grpc-web-text+json',
  'application/json',
]);

export const UNSUPPORTED_TYPE_MESSAGE =
  'gRPC-Web requests must have content-type application/grpc-web, application/grpc-web+proto, ' +
  'application/grpc-web-text or application/grpc-web-text+proto';
export const JSON_TYPE_MESSAGE =
  'gRPC-Web JSON transcoding is not supported: send application/grpc-web+proto or application/grpc-web-text+proto';

/** The request's content type: one the plugin translates (binary or text), or the 400's message. */
export function webContentType(value: string | undefined): WebContentType {
  if (value === undefined) return { ok: false, message: UNSUPPORTED_TYPE_MESSAGE };
  const semi = value.indexOf(';');
  const mediaType = (semi < 0 ? value : value.slice(0, semi)).trim().toLowerCase();
  const translated = TRANSLATED.get(mediaType);
  if (translated !== undefined) return translated;
  return { ok: false, message: JSON_TYPES.has(mediaType) ? JSON_TYPE_MESSAGE : UNSUPPORTED_TYPE_MESSAGE };
}

/** base64 alphabet value of each char code, -1 for '=' and -2 for anything else. */
const B64 = new Int8Array(128).fill(-2);
for (let i = 0; i < 64; i++)
  B64['ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'.charCodeAt(i)] = i;
B64[0x3d] = -1;

export type Decoded =
  { readonly ok: true; readonly bytes: Buffer } | { readonly ok: false; readonly message: string };

/**
 * Decodes a gRPC-Web text body: standard base64 in groups of four, where a padded group may be
 * followed by more base64 (the concatenation of separately encoded chunks, as the spec allows);
 * the body ends on a whole group. Anything else (a character outside the alphabet, padding inside
 * a group, a dangling group) is refused with a message naming the byte offset.
 */
export function decodeBase64Chunks(body: Buffer): Decoded {
  const n = body.length;
  if (n % 4 !== 0)
    return { ok: false, message: `invalid base64 body: its length ${n} is not a multiple of 4` };
  const out = Buffer.allocUnsafe((n / 4) * 3);
  let o = 0;
  for (let i = 0; i < n; i += 4) {
    const c0 = body[i]!;
    const c1 = body[i + 1]!;
    const c2 = body[i + 2]!;
    const c3 = body[i + 3]!;
    const v0 = c0 < 128 ? B64[c0]! : -2;
    const v1 = c1 < 128 ? B64[c1]! : -2;
    const v2 = c2 < 128 ? B64[c2]! : -2;
    const v3 = c3 < 128 ? B64[c3]! : -2;
    if (v0 < 0 || v1 < 0 || v2 === -2 || v3 === -2 || (v2 === -1 && v3 !== -1))
      return { ok: false, message: `invalid base64 body at byte ${i}` };
    out[o++] = (v0 << 2) | (v1 >> 4);
    if (v2 >= 0) out[o++] = ((v1 & 15) << 4) | (v2 >> 2);
    if (v3 >= 0) out[o++] = ((v2 & 3) << 6) | v3;
  }
  return { ok: true, bytes: out.subarray(0, o) };
}

/**
 * Checks a request body as gRPC length-prefixed messages: each a flag byte (0 or 1: compressed)
 * and a 4-byte big-endian length that the rest of the body holds. Returns null when it is whole,
 * else the 400's message. (A trailer frame has no place in a request.)
 */
export function checkRequestFrames(body: Buffer): string | null {
  let i = 0;
  while (i < body.length) {
    if (body.length - i < 5) return `truncated gRPC-Web frame header at byte ${i}`;
    const flag = body[i]!;
    if ((flag & TRAILER_FLAG) !== 0) return `unexpected trailer frame in the request at byte ${i}`;
    if (flag > 1) return `invalid gRPC-Web frame flag 0x${flag.toString(16)} at byte ${i}`;
    const length = body.readUInt32BE(i + 1);
    if (length > body.length - i - 5)
      return `gRPC-Web frame at byte ${i} announces ${length} bytes, the body holds ${body.length - i - 5}`;
    i += 5 + length;
  }
  return null;
}

const NO_STATUS = ['grpc-status', '13', 'grpc-message', 'upstream response ended without grpc-status'];

/** `grpc-status` is among the trailers. */
function hasStatus(trailers: readonly string[]): boolean {
  for (let i = 0; i < trailers.length; i += 2)
    if (String(trailers[i]).toLowerCase() === 'grpc-status') return true;
  return false;
}

/** Names the response head keeps from the upstream's, less its framing. */
const DROPPED = new Set(['content-type', 'content-length', 'transfer-encoding']);

/**
 * The response transform for one of the translated content types: a gRPC response (HTTP 200,
 * `application/grpc…`) goes out typed as the request was, its bytes unchanged (binary) or each
 * chunk base64 (text), ended by the trailer frame; any other answer passes through as it is.
 */
function transformFor(mediaType: string, text: boolean): ResponseTransform {
  return Object.freeze({
    head(status: number, headers: readonly string[]): string[] | null {
      if (status !== 200) return null;
      const out: string[] = [];
      let grpc = false;
      for (let i = 0; i < headers.length; i += 2) {
        const lower = headers[i]!.toLowerCase();
        if (lower === 'content-type') grpc = isGrpcContentType(headers[i + 1]);
        if (!DROPPED.has(lower)) out.push(headers[i]!, headers[i + 1]!);
      }
      if (!grpc) return null;
      out.push('content-type', mediaType);
      return out;
    },
    data: text
      ? (chunk: Buffer) => Buffer.from(chunk.toString('base64'), 'latin1')
      : (chunk: Buffer) => chunk,
    end(trailers: readonly string[] | null): Buffer {
      if (trailers === null) return trailerFrame(NO_STATUS, text);
      return trailerFrame(hasStatus(trailers) ? trailers : [...trailers, ...NO_STATUS], text);
    },
  });
}

/**
 * gRPC-Web as a client writes and reads it, built from the protocol (grpc/doc/PROTOCOL-WEB.md),
 * not from the gateway's code: a length-prefixed message, a text body read back as padded base64
 * segments, and a body split into its data messages and trailer-frame fields. Used by
 * test/proxy/grpc-web.test.ts and e2e/grpc-web-through-dp.test.ts.
 */

/** One message framed: the flag byte, a 4-byte big-endian length, the bytes. */
export function frame(message: Buffer | string, flag = 0): Buffer {
  const body = Buffer.from(message);
  const head = Buffer.alloc(5);
  head[0] = flag;
  head.writeUInt32BE(body.length, 1);
  return Buffer.concat([head, body]);
}

/** A text body decoded: each padded base64 segment on its own, as the spec allows. */
export function decodeText(body: string): Buffer {
  return Buffer.concat((body.match(/[A-Za-z0-9+/]+={0,2}/g) ?? []).map((s) => Buffer.from(s, 'base64')));
}

export interface WebFrames {
  /** The data messages, as text. */
  messages: string[];
  /** The trailer frame's header block as sent (`name:value\r\n`…), '' when none. */
  block: string;
  /** The trailer frame's fields by name. */
  trailers: Record<string, string>;
  /** The body ends on a whole frame. */
  whole: boolean;
}

/** The frames of a binary gRPC-Web body. */
export function parseFrames(body: Buffer): WebFrames {
  const messages: string[] = [];
  const trailers: Record<string, string> = {};
  let block = '';
  let i = 0;
  while (i + 5 <= body.length) {
    const flag = body[i]!;
    const len = body.readUInt32BE(i + 1);
    const payload = body.subarray(i + 5, i + 5 + len).toString('latin1');
    i += 5 + len;
    if ((flag & 0x80) === 0) {
      messages.push(payload);
      continue;
    }
    block += payload;
    for (const line of payload.split('\r\n')) {
      const colon = line.indexOf(':');
      if (colon > 0) trailers[line.slice(0, colon).trim()] = line.slice(colon + 1).trim();
    }
  }
  return { messages, block, trailers, whole: i === body.length };
}

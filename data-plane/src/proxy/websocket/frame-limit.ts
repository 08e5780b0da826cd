/**
 * The maximum WebSocket message size, enforced on the bytes of one direction of a tunnel by
 * reading only frame headers (RFC 6455 5.2): payloads are skipped, never buffered, unmasked or
 * parsed. A message is the payload of a data frame and its continuation frames up to FIN;
 * control frames (close, ping, pong) between fragments are not part of it. A message whose
 * payload would pass the limit — known from the first header that announces it, before its
 * payload arrives — makes `feed` return false: the tunnel then closes with 1009 (Message Too Big).
 */

import { randomBytes } from 'node:crypto';

/** A frame header: 2 bytes, + 2 or 8 of extended length, + 4 of mask key. */
const MAX_HEADER = 14;

export class FrameLimiter {
  /** Payload bytes of the current frame still to skip. */
  private skip = 0;
  /** Bytes of a frame header split across chunks. */
  private readonly header = Buffer.alloc(MAX_HEADER);
  private headerLength = 0;
  /** Payload bytes of the data message in progress (its frames so far). */
  private message = 0;
  private over = false;

  /** `limit`: the largest message payload allowed in bytes (> 0). */
  constructor(private readonly limit: number) {}

  /** Reads the frame headers in `chunk`; false once a message is over the limit (and after). */
  feed(chunk: Buffer): boolean {
    if (this.over) return false;
    let i = 0;
    const n = chunk.length;
    while (i < n) {
      if (this.skip > 0) {
        const take = Math.min(this.skip, n - i);
        this.skip -= take;
        i += take;
        continue;
      }
      // Gather the header: its length is known from its first two bytes.
      const header = this.header;
      if (this.headerLength < 2) {
        header[this.headerLength++] = chunk[i++]!;
        continue;
      }
      const needed = headerSize(header);
      if (this.headerLength < needed) {
        const take = Math.min(needed - this.headerLength, n - i);
        chunk.copy(header, this.headerLength, i, i + take);
        this.headerLength += take;
        i += take;
        if (this.headerLength < needed) break;
      }
      if (!this.frame(header)) {
        this.over = true;
        return false;
      }
      this.headerLength = 0;
    }
    // A header complete at the end of the chunk (no payload byte read yet).
    if (this.headerLength >= 2 && this.headerLength === headerSize(this.header)) {
      if (!this.frame(this.header)) {
        this.over = true;
        return false;
      }
      this.headerLength = 0;
    }
    return true;
  }

  /** One whole header: counts its payload towards the message; false when over the limit. */
  private frame(header: Buffer): boolean {
    const fin = (header[0]! & 0x80) !== 0;
    const opcode = header[0]! & 0x0f;
    const length = payloadLength(header);
    this.skip = length;
    // Control frames (0x8–0xF) are not part of a data message.
    if (opcode >= 0x8) return true;
    // A new data frame (text, binary, or a reserved data opcode) starts a message; 0 continues one.
    const total = opcode === 0 ? this.message + length : length;
    if (total > this.limit) return false;
    this.message = fin ? 0 : total;
    return true;
  }
}

/** Header size from its first two bytes. */
function headerSize(header: Buffer): number {
  const len7 = header[1]! & 0x7f;
  const masked = (header[1]! & 0x80) !== 0 ? 4 : 0;
  return 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + masked;
}

/** The payload length (a 64-bit length over 2^53 counts as infinite: always over any limit). */
function payloadLength(header: Buffer): number {
  const len7 = header[1]! & 0x7f;
  if (len7 < 126) return len7;
  if (len7 === 126) return header.readUInt16BE(2);
  const high = header.readUInt32BE(2);
  if (high >= 0x200000) return Number.POSITIVE_INFINITY;
  return high * 0x1_0000_0000 + header.readUInt32BE(6);
}

/** A close frame with `code` (RFC 6455 5.5.1): masked when sent to a server, as a client must. */
export function closeFrame(code: number, masked: boolean): Buffer {
  if (!masked) return Buffer.from([0x88, 0x02, code >> 8, code & 0xff]);
  const key = randomBytes(4);
  return Buffer.from([0x88, 0x82, ...key, (code >> 8) ^ key[0]!, (code & 0xff) ^ key[1]!]);
}

/** Close codes (RFC 6455 7.4.1). */
export const CLOSE_GOING_AWAY = 1001;
export const CLOSE_MESSAGE_TOO_BIG = 1009;

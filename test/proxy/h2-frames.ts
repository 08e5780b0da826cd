/**
 * Raw HTTP/2 frames, built by hand for the attack tests (RFC 9113 §4.1: a 9-byte header, then the
 * payload) and a reader of what a server sends back. Header blocks use HPACK literals without
 * indexing (RFC 7541 §6.2.2) and the static table's `:method GET`, `:scheme http`.
 */
import net from 'node:net';

export const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

export const FrameType = {
  DATA: 0,
  HEADERS: 1,
  RST_STREAM: 3,
  SETTINGS: 4,
  PING: 6,
  GOAWAY: 7,
  WINDOW_UPDATE: 8,
  CONTINUATION: 9,
} as const;
export const Flags = { END_STREAM: 0x1, ACK: 0x1, END_HEADERS: 0x4 } as const;
export const ENHANCE_YOUR_CALM = 0xb;
export const CANCEL = 0x8;

export function frame(
  type: number,
  flags: number,
  streamId: number,
  payload: Buffer = Buffer.alloc(0),
): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(streamId & 0x7fffffff, 5);
  return Buffer.concat([head, payload]);
}

/** An HPACK string literal, no Huffman (lengths < 127 in one byte, longer with the 7-bit prefix integer). */
function literal(s: string): Buffer {
  const bytes = Buffer.from(s, 'latin1');
  return Buffer.concat([hpackInt(bytes.length, 7, 0), bytes]);
}

function hpackInt(n: number, prefix: number, high: number): Buffer {
  const max = (1 << prefix) - 1;
  if (n < max) return Buffer.from([high | n]);
  const out = [high | max];
  n -= max;
  while (n >= 128) {
    out.push((n % 128) + 128);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return Buffer.from(out);
}

/** A literal header field without indexing, new name. */
export function field(name: string, value: string): Buffer {
  return Buffer.concat([Buffer.from([0x00]), literal(name), literal(value)]);
}

/** The header block of `GET <path>` for `authority`, plus `extra` fields. */
export function requestBlock(path: string, authority: string, extra: Buffer[] = []): Buffer {
  return Buffer.concat([
    Buffer.from([0x82, 0x86]), // :method GET, :scheme http
    Buffer.concat([Buffer.from([0x04]), literal(path)]), // :path, indexed name 4
    Buffer.concat([Buffer.from([0x01]), literal(authority)]), // :authority, indexed name 1
    ...extra,
  ]);
}

/** The connection start of a client: preface and an empty SETTINGS. */
export function clientStart(): Buffer {
  return Buffer.concat([PREFACE, frame(FrameType.SETTINGS, 0, 0)]);
}

export function rstStream(streamId: number, code = CANCEL): Buffer {
  const p = Buffer.alloc(4);
  p.writeUInt32BE(code);
  return frame(FrameType.RST_STREAM, 0, streamId, p);
}

export interface ParsedFrame {
  type: number;
  flags: number;
  streamId: number;
  payload: Buffer;
}

/** Splits `bytes` into frames (a trailing partial frame is left out). */
export function parseFrames(bytes: Buffer): ParsedFrame[] {
  const out: ParsedFrame[] = [];
  let i = 0;
  while (i + 9 <= bytes.length) {
    const len = bytes.readUIntBE(i, 3);
    if (i + 9 + len > bytes.length) break;
    out.push({
      type: bytes[i + 3]!,
      flags: bytes[i + 4]!,
      streamId: bytes.readUInt32BE(i + 5) & 0x7fffffff,
      payload: bytes.subarray(i + 9, i + 9 + len),
    });
    i += 9 + len;
  }
  return out;
}

/** The error code of the first GOAWAY in `frames`, or null. */
export function goawayCode(frames: readonly ParsedFrame[]): number | null {
  const g = frames.find((f) => f.type === FrameType.GOAWAY);
  return g === undefined ? null : g.payload.readUInt32BE(4);
}

/**
 * Connects, writes what `write` produces (it may write more as the socket drains) and collects
 * every byte the server sends until it closes the connection, `enough` says so, or `timeoutMs`
 * passes. Resolves with the bytes and whether the server closed.
 */
export function rawSession(
  port: number,
  write: (socket: net.Socket) => void,
  timeoutMs = 10_000,
  /** Stops early (the connection destroyed, `closed` false) once the bytes so far satisfy it. */
  enough?: (bytes: Buffer) => boolean,
): Promise<{ bytes: Buffer; closed: boolean }> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let settled = false;
    const finish = (closed: boolean): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ bytes: Buffer.concat(chunks), closed });
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    socket.on('connect', () => write(socket));
    socket.on('data', (c: Buffer) => {
      chunks.push(c);
      if (enough?.(Buffer.concat(chunks)) === true) finish(false);
    });
    socket.on('error', () => finish(true));
    socket.on('close', () => finish(true));
  });
}

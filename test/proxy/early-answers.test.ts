/**
 * Issue 8 item 14: a gateway answer given before the request body is read (request-size-limiting's
 * 413 on Content-Length, the 413 of a chunked body over the cap, an auth plugin's 401) reaches the
 * client that is still sending: the proxy half-closes and discards the rest within a bound
 * (lingering close) instead of closing at once, which made the kernel reset the connection and
 * wipe the answer out before the client read it (curl saw no answer on 13 of 20 tries, a client
 * that reads after sending on 20 of 20). Real sockets, bodies of several MB written in chunks with
 * backpressure, 20 tries each.
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consumer, plugin, startTrafficGateway, type TrafficGateway } from '../plugins/traffic/helpers.js';

const TRIES = 20;
const BODY = 8 * 1024 * 1024;
const PIECE = 64 * 1024;

/**
 * Sends `head`, then `BODY` bytes (each piece wrapped by `frame`) with backpressure, and reads
 * the answer only once everything is written — as Python's requests and many SDKs do (curl reads
 * while it sends, but gives up at the first failed send). A connection reset while sending loses
 * the answer, which is what this test is about. Resolves with what was read.
 */
function upload(port: number, head: string, frame: (piece: Buffer) => Buffer): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    const piece = frame(Buffer.alloc(PIECE, 120));
    let data = '';
    let sent = 0;
    const read = (): void => {
      socket.on('data', (c: Buffer) => (data += c.toString('latin1')));
      socket.on('end', () => socket.destroy());
    };
    const pump = (): void => {
      while (sent < BODY) {
        sent += PIECE;
        const last = sent >= BODY;
        if (!socket.write(piece, last ? read : undefined)) {
          if (!last) socket.once('drain', pump);
          return;
        }
      }
    };
    socket.on('connect', () => {
      socket.write(head);
      pump();
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => resolve(data));
  });
}

const chunked = (piece: Buffer): Buffer =>
  Buffer.concat([Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n')]);
const plain = (piece: Buffer): Buffer => piece;

describe('early answers on a request whose body is still coming (real sockets)', () => {
  let gw: TrafficGateway;
  beforeAll(async () => {
    gw = await startTrafficGateway();
  });
  afterAll(async () => {
    await gw.close();
  });

  it(`delivers request-size-limiting's 413 on Content-Length to a client sending ${BODY} bytes, ${TRIES} times out of ${TRIES}`, async () => {
    gw.apply({
      plugins: [plugin('request-size-limiting', { allowed_payload_size: 1 }, { route: { id: 'r' } })],
    });
    const head = `POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: ${BODY}\r\n\r\n`;
    const seen: string[] = [];
    for (let i = 0; i < TRIES; i += 1) seen.push((await upload(gw.port, head, plain)).slice(0, 12));
    expect(seen).toEqual(Array(TRIES).fill('HTTP/1.1 413'));
  });

  it(`delivers the 413 of a chunked body over the cap, ${TRIES} times out of ${TRIES}`, async () => {
    gw.apply({
      plugins: [plugin('request-size-limiting', { allowed_payload_size: 1 }, { route: { id: 'r' } })],
    });
    const head = 'POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n';
    const seen: string[] = [];
    for (let i = 0; i < TRIES; i += 1) seen.push((await upload(gw.port, head, chunked)).slice(0, 12));
    expect(seen).toEqual(Array(TRIES).fill('HTTP/1.1 413'));
  });

  it(`delivers key-auth's 401 to a client sending a large body, and closes the connection, ${TRIES} times out of ${TRIES}`, async () => {
    gw.apply({
      consumers: [consumer('alice')],
      plugins: [plugin('key-auth', {}, { route: { id: 'r' } })],
    });
    for (const [head, frame] of [
      [`POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: ${BODY}\r\n\r\n`, plain],
      ['POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n', chunked],
    ] as const) {
      const seen: string[] = [];
      for (let i = 0; i < TRIES; i += 1) {
        const data = await upload(gw.port, head, frame);
        seen.push(`${data.slice(0, 12)} ${/\r\nconnection: close\r\n/i.test(data) ? 'close' : 'keep'}`);
      }
      expect(seen).toEqual(Array(TRIES).fill('HTTP/1.1 401 close'));
    }
  });
});

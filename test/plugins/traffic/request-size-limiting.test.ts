import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  call,
  parseRaw,
  plugin,
  rawRequest,
  startTrafficGateway,
  type SeenRequest,
  type TrafficGateway,
} from './helpers.js';

const chunk = (data: string) => `${data.length.toString(16)}\r\n${data}\r\n`;

describe('Plugin: request-size-limiting (access, real ProxyServer)', () => {
  let gw: TrafficGateway;
  beforeAll(async () => {
    gw = await startTrafficGateway();
  });
  afterAll(async () => {
    await gw.close();
  });

  const withConfig = (config: Record<string, unknown>) =>
    gw.apply({ plugins: [plugin('request-size-limiting', config, { route: { id: 'r' } })] });

  it('returns 413 when Content-Length is over the limit, without calling the upstream', async () => {
    withConfig({ allowed_payload_size: 1, size_unit: 'kilobytes' });
    const before = gw.upstreamHits();
    const r = await call(gw.port, '/x', { method: 'POST', body: Buffer.alloc(1025, 97) });
    expect(r.status).toBe(413);
    expect(r.json()).toEqual({ message: 'Request size limit exceeded' });
    expect(gw.upstreamHits()).toBe(before);
  });

  it('proxies a body of exactly the limit', async () => {
    withConfig({ allowed_payload_size: 1, size_unit: 'kilobytes' });
    const r = await call(gw.port, '/x', { method: 'POST', body: Buffer.alloc(1024, 97) });
    expect(r.status).toBe(200);
    expect(r.json<SeenRequest>().bodyLength).toBe(1024);
  });

  it('cuts off a chunked upload over the limit with 413 before the client finished sending', async () => {
    withConfig({ allowed_payload_size: 100, size_unit: 'bytes' });
    const before = gw.upstreamHits();
    const { data, closedByServer } = await rawRequest(
      gw.port,
      'POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n',
      // 120 bytes, and the body is never terminated: the answer cannot wait for its end.
      (socket) => socket.write(chunk('a'.repeat(60)) + chunk('b'.repeat(60))),
    );
    const r = parseRaw(data);
    expect(r.status).toBe(413);
    expect(JSON.parse(r.body)).toEqual({ message: 'Request size limit exceeded' });
    expect(closedByServer).toBe(true);
    expect(gw.upstreamHits()).toBe(before);
  });

  it('proxies a chunked upload under the limit in full', async () => {
    withConfig({ allowed_payload_size: 100, size_unit: 'bytes' });
    const { data } = await rawRequest(
      gw.port,
      'POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n',
      (socket) => socket.write(chunk('a'.repeat(50)) + chunk('b'.repeat(50)) + '0\r\n\r\n'),
    );
    const r = parseRaw(data);
    expect(r.status).toBe(200);
    expect((JSON.parse(r.body) as SeenRequest).bodyLength).toBe(100);
  });

  it('returns 417 to a client that expects 100-continue for a body over the limit', async () => {
    withConfig({ allowed_payload_size: 10, size_unit: 'bytes' });
    const { data } = await rawRequest(
      gw.port,
      'POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\nExpect: 100-continue\r\n\r\n',
      () => {},
    );
    expect(parseRaw(data).status).toBe(417);
  });

  it('returns 411 without a valid Content-Length when require_content_length is on', async () => {
    withConfig({ require_content_length: true });
    const r = await call(gw.port, '/x');
    expect(r.status).toBe(411);
    expect(r.json()).toEqual({ message: 'A valid Content-Length header is required' });
    expect((await call(gw.port, '/x', { method: 'POST', body: 'abc' })).status).toBe(200);
  });
});

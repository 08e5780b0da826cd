/**
 * data-masking's response side through a real ProxyServer and upstream sockets: the plugin API it
 * stands on (bufferResponse decided per response, setResponseBody, removeResponseHeader,
 * limitResponseBody) as the client sees it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, plugin, startTrafficGateway, type TrafficGateway } from './helpers.js';

describe('Plugin: data-masking (response, real ProxyServer)', () => {
  let gw: TrafficGateway;
  let upstreamSawAbort = false;
  beforeAll(async () => {
    gw = await startTrafficGateway();
    gw.apply({
      plugins: [
        plugin(
          'data-masking',
          { response: { json: ['$.email'], headers: ['x-card'] }, max_body_size: 4096 },
          { route: { id: 'r' } },
        ),
      ],
    });
    gw.setUpstream((req, res) => {
      const kind = req.url ?? '';
      if (kind === '/chunked-json') {
        res.writeHead(200, { 'content-type': 'application/json', 'x-card': '4111' });
        res.write('{"email":');
        res.end('"a@b.test","id":7}');
      } else if (kind === '/text') {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('a@b.test ');
        res.end('streamed');
      } else if (kind === '/over-cap') {
        res.on('close', () => (upstreamSawAbort = !res.writableFinished));
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('[' + '"x",'.repeat(2000));
        // Never ends by itself: the gateway must cut it off at the cap.
      } else if (kind === '/announced-over-cap') {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': '10000' });
        res.end(Buffer.alloc(10000, 0x20));
      } else if (kind === '/no-content') {
        res.writeHead(204, { 'content-type': 'application/json' }).end();
      } else {
        res.writeHead(404).end();
      }
    });
  });
  afterAll(async () => {
    await gw.close();
  });

  it('buffers a chunked JSON response, masks it and sends it with a Content-Length', async () => {
    const r = await call(gw.port, '/chunked-json');
    expect(r.status).toBe(200);
    expect(r.body.toString()).toBe('{"email":"****","id":7}');
    expect(r.headers['content-length']).toBe(String(r.body.length));
    expect(r.headers['transfer-encoding']).toBeUndefined();
    expect(r.headers['x-card']).toBe('****');
  });

  it('streams a non-JSON response untouched (the decision is per response)', async () => {
    const r = await call(gw.port, '/text');
    expect(r.body.toString()).toBe('a@b.test streamed');
    expect(r.headers['transfer-encoding']).toBe('chunked');
  });

  it('refuses a response crossing max_body_size with 502 and aborts the upstream', async () => {
    const r = await call(gw.port, '/over-cap');
    expect(r.status).toBe(502);
    expect(r.headers['x-gatehouse-error-code']).toBe('GH_ERR_PLUGIN_RESPONSE_TOO_LARGE');
    expect(r.json()).toEqual({ message: 'The upstream response is too large to be processed' });
    await expect.poll(() => upstreamSawAbort).toBe(true);
  });

  it('refuses a response whose Content-Length is over max_body_size before reading it', async () => {
    const r = await call(gw.port, '/announced-over-cap');
    expect(r.status).toBe(502);
    expect(r.headers['x-gatehouse-error-code']).toBe('GH_ERR_PLUGIN_RESPONSE_TOO_LARGE');
  });

  it('passes a 204 without buffering, and keeps serving after refusals', async () => {
    expect((await call(gw.port, '/no-content')).status).toBe(204);
    expect((await call(gw.port, '/chunked-json')).status).toBe(200);
  });
});

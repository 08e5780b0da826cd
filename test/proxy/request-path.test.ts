/**
 * The one request path: the plain, balanced and plugin routes go through the same
 * dispatchUpstream and exchange base, so they answer the same upstream response with the same
 * headers; and the gateway's own answers come from the error table.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorResponseOf, ProxyErrorCode } from '../../data-plane/src/proxy/errors.js';
import { target, upstream } from '../balancer/fixtures.js';
import { route, service } from './helpers.js';
import {
  call,
  parseRaw,
  plugin,
  rawRequest,
  startTrafficGateway,
  type TrafficGateway,
} from '../plugins/traffic/helpers.js';

const chunk = (data: string) => `${data.length.toString(16)}\r\n${data}\r\n`;

describe('one request path (real ProxyServer)', () => {
  let gw: TrafficGateway;
  beforeAll(async () => {
    gw = await startTrafficGateway();
    gw.setUpstream((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(201, [
          'Content-Type',
          'text/plain',
          'X-Upstream',
          'one',
          'X-Upstream',
          'two',
          'Set-Cookie',
          'a=1',
          'Connection',
          'keep-alive, X-Hop',
          'X-Hop',
          'dropped',
          'Content-Length',
          '5',
        ]);
        res.end('hello');
      });
    });
    const pool = upstream('u', 'pool.internal');
    gw.apply({
      services: [service('plain', gw.upstreamPort), service('balanced', 80, { host: 'pool.internal' })],
      routes: [
        route('r-plain', 'plain', { paths: ['/plain'] }),
        route('r-balanced', 'balanced', { paths: ['/balanced'] }),
        route('r-plain-plugin', 'plain', { paths: ['/plugin-plain'] }),
        route('r-balanced-plugin', 'balanced', { paths: ['/plugin-balanced'] }),
      ],
      upstreams: [pool],
      targets: [target('t', 'u', `127.0.0.1:${gw.upstreamPort}`)],
      plugins: ['r-plain-plugin', 'r-balanced-plugin'].map((id) =>
        plugin('ip-restriction', { allow: ['127.0.0.1'] }, { route: { id } }),
      ),
    });
  });
  afterAll(async () => {
    await gw.close();
  });

  it('answers the same upstream response with the same headers on the plain, balanced and plugin paths', async () => {
    const heads = [];
    for (const path of ['/plain', '/balanced', '/plugin-plain', '/plugin-balanced']) {
      const r = await call(gw.port, path);
      expect(r.status).toBe(201);
      expect(r.body.toString()).toBe('hello');
      const { date: _date, ...rest } = r.headers;
      heads.push(rest);
    }
    expect(heads[0]).toMatchObject({ 'x-upstream': 'one, two', 'set-cookie': ['a=1'] });
    expect(heads[0]!['x-hop']).toBeUndefined();
    for (const h of heads.slice(1)) expect(h).toEqual(heads[0]);
  });

  it('answers a streamed body over a plugin cap with the error table’s 413', async () => {
    gw.apply({
      plugins: [plugin('request-size-limiting', { allowed_payload_size: 10, size_unit: 'bytes' })],
    });
    const expected = errorResponseOf(ProxyErrorCode.BODY_TOO_LARGE);
    const { data } = await rawRequest(
      gw.port,
      'POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n',
      (socket) => socket.write(chunk('a'.repeat(20))),
    );
    const r = parseRaw(data);
    expect(r.status).toBe(expected.status);
    expect(r.body).toBe(expected.body.toString());
    expect(JSON.parse(r.body)).toEqual({ message: 'Request size limit exceeded' });
    expect(r.head).toMatch(/\r\nx-gatehouse-error-code: GH_ERR_PLUGIN_BODY_TOO_LARGE\r\n/i);
    expect(r.head).toMatch(/\r\nconnection: close\r\n/i);
  });
});

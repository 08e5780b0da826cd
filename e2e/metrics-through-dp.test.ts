/**
 * /metrics of a real data plane with two workers (DB-less): known traffic on new connections
 * (node's cluster hands them to the workers in turn), then one scrape of the status port gives
 * the node's exact counts and histogram buckets, summed across the workers; the Kong-named series
 * of the prometheus plugin appear for the route it is on, and only there; the log counters (a
 * file-log plugin, the access log) and the open connections of the TLS listener are in it too.
 */
import { get as httpGet, createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { freePort, startDblessDp, tempDir, type Proc } from './helpers/processes.js';

/** Upstream delay of /a/slow: above the 0.25 s / 250 ms buckets whatever the machine's load. */
const SLOW_MS = 300;

/** One request on a new connection. */
function fresh(url: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    httpGet(url, { agent: false, headers }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', reject);
    }).on('error', reject);
  });
}

/** The value of the one sample `name{labels}` (labels in any order), or undefined. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && line.split(' ')[0] !== name) continue;
    const m = /^([^{ ]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (m === null || m[1] !== name) continue;
    const got: Record<string, string> = {};
    for (const [, k, v] of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) got[k!] = v!;
    const want = Object.entries(labels);
    if (want.length === Object.keys(got).length && want.every(([k, v]) => got[k] === v)) return Number(m[3]);
  }
  return undefined;
}

describe('/metrics of a data plane with two workers', () => {
  let upstream: Server;
  let dp: { proc: Proc; proxy: string; status: string };
  let text: string;
  let tlsClient: TLSSocket;
  let dir: string;

  beforeAll(async () => {
    upstream = createServer((req, res) => {
      const send = () => {
        res.writeHead(req.url?.includes('fail') ? 500 : 200, { 'content-type': 'text/plain' });
        res.end('0123456789');
      };
      if (req.url?.includes('slow')) setTimeout(send, SLOW_MS);
      else send();
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', () => r()));
    const port = (upstream.address() as AddressInfo).port;
    dir = tempDir('dp-metrics');
    const file = join(dir, 'kong.json');
    await writeFile(
      file,
      JSON.stringify({
        _format_version: '3.0',
        services: [
          {
            name: 'svc',
            url: `http://127.0.0.1:${port}`,
            routes: [
              {
                name: 'a',
                paths: ['/a'],
                plugins: [
                  {
                    name: 'prometheus',
                    config: { status_code_metrics: true, latency_metrics: true, bandwidth_metrics: true },
                  },
                ],
              },
              {
                name: 'b',
                paths: ['/b'],
                plugins: [{ name: 'file-log', config: { path: join(dir, 'file-log', 'b.log') } }],
              },
            ],
          },
        ],
      }),
    );
    const tlsPort = await freePort();
    dp = await startDblessDp({
      file,
      dataDir: dir,
      workers: 2,
      args: ['--listen-ssl', `127.0.0.1:${tlsPort}`, '--access-log', join(dir, 'access.log')],
    });
    // One TLS client connection, held open across the scrape (no request on it).
    tlsClient = tlsConnect({ host: '127.0.0.1', port: tlsPort, rejectUnauthorized: false });
    await new Promise<void>((resolve, reject) => {
      tlsClient.once('secureConnect', () => resolve());
      tlsClient.once('error', reject);
    });
    const status = (await (await fetch(`${dp.status}/status`)).json()) as { workers: { serving: number } };
    expect(status.workers.serving).toBe(2);
    for (let i = 0; i < 10; i++) expect(await fresh(`${dp.proxy}/a/${i}`)).toBe(200);
    expect(await fresh(`${dp.proxy}/a/slow`)).toBe(200);
    for (let i = 0; i < 4; i++) expect(await fresh(`${dp.proxy}/b/fail`)).toBe(500);
    for (let i = 0; i < 3; i++) expect(await fresh(`${dp.proxy}/nowhere`)).toBe(404);
    // The workers count when the response closes; the scrape pulls what each counted. The access
    // log writes at least once a second.
    await new Promise((r) => setTimeout(r, 1500));
    const res = await fetch(`${dp.status}/metrics`);
    expect(res.status).toBe(200);
    text = await res.text();
  }, 90_000);

  afterAll(async () => {
    tlsClient?.destroy();
    await dp?.proc.stop();
    await new Promise<void>((r) => upstream.close(() => r()));
  });

  it('counts every request once, by service, route, status code and class, across both workers', () => {
    const reqs = (route: string, code: string, service = 'svc') =>
      sample(text, 'gatehouse_http_requests_total', { service, route, code, class: `${code[0]}xx` });
    expect(reqs('a', '200')).toBe(11);
    expect(reqs('b', '500')).toBe(4);
    expect(reqs('', '404', '')).toBe(3);
  });

  it('fills the latency histograms: every request in +Inf, the slow upstream above 0.25 s', () => {
    const a = { service: 'svc', route: 'a' };
    const bucket = (name: string, le: string) => sample(text, `${name}_bucket`, { ...a, le });
    expect(sample(text, 'gatehouse_request_duration_seconds_count', a)).toBe(11);
    expect(bucket('gatehouse_request_duration_seconds', '+Inf')).toBe(11);
    expect(bucket('gatehouse_request_duration_seconds', '0.25')).toBeLessThanOrEqual(10);
    expect(bucket('gatehouse_upstream_duration_seconds', '+Inf')).toBe(11);
    expect(bucket('gatehouse_upstream_duration_seconds', '0.25')).toBeLessThanOrEqual(10);
    expect(sample(text, 'gatehouse_upstream_duration_seconds_sum', a)).toBeGreaterThanOrEqual(SLOW_MS / 1000);
    expect(bucket('gatehouse_gateway_duration_seconds', '+Inf')).toBe(11);
    // A request no route matched never went upstream: gateway time only.
    const none = { service: '', route: '' };
    expect(sample(text, 'gatehouse_gateway_duration_seconds_count', none)).toBe(3);
    expect(sample(text, 'gatehouse_upstream_duration_seconds_count', none)).toBe(0);
  });

  it('counts request and response bytes', () => {
    const a = { service: 'svc', route: 'a' };
    // 11 requests, each at least its request line; each response at least its 10-byte body.
    expect(sample(text, 'gatehouse_request_bytes_total', a)).toBeGreaterThan(
      11 * 'GET /a/0 HTTP/1.1\r\n'.length,
    );
    expect(sample(text, 'gatehouse_response_bytes_total', a)).toBeGreaterThan(11 * 10);
  });

  it("exposes Kong's series with Kong's names and labels for the route the prometheus plugin is on", () => {
    const labels = { service: 'svc', route: 'a', workspace: 'default' };
    expect(
      sample(text, 'kong_http_requests_total', { ...labels, code: '200', source: 'service', consumer: '' }),
    ).toBe(11);
    expect(sample(text, 'kong_request_latency_ms_count', labels)).toBe(11);
    expect(sample(text, 'kong_upstream_latency_ms_count', labels)).toBe(11);
    expect(sample(text, 'kong_kong_latency_ms_count', labels)).toBe(11);
    // Kong's upstream buckets (ms): the slow request is above 250.
    expect(sample(text, 'kong_upstream_latency_ms_bucket', { ...labels, le: '250' })).toBeLessThanOrEqual(10);
    expect(sample(text, 'kong_upstream_latency_ms_bucket', { ...labels, le: '+Inf' })).toBe(11);
    expect(
      sample(text, 'kong_bandwidth_bytes', { ...labels, direction: 'egress', consumer: '' }),
    ).toBeGreaterThan(11 * 10);
    expect(
      sample(text, 'kong_bandwidth_bytes', { ...labels, direction: 'ingress', consumer: '' }),
    ).toBeGreaterThan(0);
    expect(text).toMatch(/^kong_nginx_requests_total\{node_id="[^"]+",subsystem="http"\} 18$/m);
    expect(text).toMatch(/^kong_node_info\{node_id="[^"]+",version="[^"]+"\} 1$/m);
    // Route b has no prometheus plugin: no Kong series for it.
    expect(text).not.toMatch(/^kong_http_requests_total\{[^}]*route="b"/m);
  });

  it('adds nothing on a second scrape without traffic (workers send deltas)', async () => {
    const again = await (await fetch(`${dp.status}/metrics`)).text();
    expect(
      sample(again, 'gatehouse_http_requests_total', {
        service: 'svc',
        route: 'a',
        code: '200',
        class: '2xx',
      }),
    ).toBe(11);
    expect(sample(again, 'gatehouse_request_duration_seconds_count', { service: 'svc', route: 'a' })).toBe(
      11,
    );
  });

  it('counts log entries per log (file-log plugin, access log) and open connections per listener', () => {
    expect(sample(text, 'gatehouse_log_entries_total', { log: 'file-log', result: 'sent' })).toBe(4);
    expect(sample(text, 'gatehouse_log_entries_total', { log: 'file-log', result: 'dropped' })).toBe(0);
    expect(sample(text, 'gatehouse_log_entries_total', { log: 'access-log', result: 'sent' })).toBe(18);
    expect(sample(text, 'gatehouse_dp_open_connections', { listener: 'https' })).toBe(1);
    expect(sample(text, 'gatehouse_dp_open_connections', { listener: 'http' })).toBeGreaterThanOrEqual(0);
  });

  it('reports the served config: hash and age', () => {
    expect(text).toMatch(/^gatehouse_dp_config_hash_info\{hash="[0-9a-f]+"\} 1$/m);
    expect(sample(text, 'gatehouse_dp_config_age_seconds', {})).toBeGreaterThanOrEqual(0);
  });
});

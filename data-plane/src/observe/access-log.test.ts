import { describe, expect, it } from 'vitest';
import type { Logger } from 'pino';
import type { ProxyRequest } from '../proxy/request.js';
import { AccessLog, openAccessLog, redactProblem } from './access-log.js';

/** The fields of ProxyRequest the access log reads. */
function request(n: number): ProxyRequest {
  return {
    method: 'GET',
    rawPath: `/r/${n}`,
    rawQuery: '',
    host: 'h',
    entry: null,
    consumerId: undefined,
    res: { statusCode: 200 },
    clientIp: '10.0.0.1',
    socket: { bytesRead: 100 * (n + 1), bytesWritten: 200 * (n + 1) },
    headers: [],
    rawHeaders: [],
    startedAt: performance.now(),
    upstreamStartedAt: -1,
    upstreamHeadersAt: -1,
  } as unknown as ProxyRequest;
}

function collecting(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  return { lines, logger: { info: (o: Record<string, unknown>) => lines.push(o) } as unknown as Logger };
}

describe('access log', () => {
  it('logs the sampled fraction of requests (a request is kept when random() < sample)', () => {
    const { logger, lines } = collecting();
    const draws = [0.1, 0.6, 0.29, 0.3, 0.99, 0];
    const log = new AccessLog(logger, 0.3, () => draws.shift()!);
    for (let i = 0; i < 6; i++) log.requestEnded(request(i));
    expect(lines.map((l) => l.path)).toEqual(['/r/0', '/r/2', '/r/5']);
  });

  it("counts a sampled-out request's bytes against it, not against the next one on the connection", () => {
    const { logger, lines } = collecting();
    const socket = { bytesRead: 0, bytesWritten: 0 };
    const draws = [0.9, 0.1];
    const log = new AccessLog(logger, 0.5, () => draws.shift()!);
    for (const [read, written] of [
      [100, 300],
      [150, 420],
    ]) {
      socket.bytesRead = read!;
      socket.bytesWritten = written!;
      log.requestEnded({ ...request(0), socket } as unknown as ProxyRequest);
    }
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ request_bytes: 50, response_bytes: 120 });
  });

  it('refuses a redact path naming no field of the line', () => {
    expect(redactProblem(['client_ip', 'latencies.proxy'])).toBeNull();
    expect(redactProblem(['password'])).toMatch(/unknown field 'password'/);
    expect(() => openAccessLog({ destination: 'stdout', sample: 1, redact: ['nope'] })).toThrow(
      /unknown field/,
    );
  });
});

/**
 * The access log: one JSON line per request (a RequestObserver), written by pino to a file or to
 * stdout through a pino transport (a worker thread writes; the request's thread only serialises
 * the line), so the event loop never waits on the disk. `sample`
 * keeps that fraction of requests; `redact` replaces the named fields with "[REDACTED]" (pino's
 * redaction, compiled once). Off (`--access-log off`): no observer exists, so a request pays
 * nothing for it.
 *
 * Every worker appends to the same file (O_APPEND); each write holds whole lines.
 */
import { pino, type Logger } from 'pino';
import type { ProxyRequest } from '../proxy/request.js';
import { exchangeBytes, exchangeFacts } from './exchange-facts.js';
import type { RequestObserver } from './request-observer.js';

/** What `--access-log*` configure (null destination = off). */
export interface AccessLogSettings {
  /** A file path, or 'stdout'. */
  destination: string;
  /** Fraction of requests logged, 0..1. */
  sample: number;
  /** Fields of the line (paths such as `client_ip` or `latencies.proxy`) written as "[REDACTED]". */
  redact: string[];
}

/** The fields of an access log line: the one list `--access-log-redact` is checked against. */
export const ACCESS_LOG_FIELDS = [
  'method',
  'path',
  'query',
  'host',
  'route',
  'service',
  'consumer',
  'status',
  'latencies',
  'request_bytes',
  'response_bytes',
  'client_ip',
  'trace_id',
  'request_id',
  'correlation_id',
] as const;

/** Why `redact` can't be used (an unknown field), or null. */
export function redactProblem(redact: readonly string[]): string | null {
  for (const path of redact) {
    const top = path.split('.')[0]!;
    if (!(ACCESS_LOG_FIELDS as readonly string[]).includes(top))
      return `unknown field '${path}'; the fields are ${ACCESS_LOG_FIELDS.join(', ')}`;
    if (!/^[a-z_]+(\.[a-z_]+)?$/.test(path)) return `invalid field path '${path}'`;
  }
  return null;
}

export class AccessLog implements RequestObserver {
  constructor(
    private readonly logger: Logger,
    private readonly sample: number,
    private readonly random: () => number = Math.random,
  ) {}

  requestEnded(request: ProxyRequest): void {
    if (this.sample < 1 && !(this.random() < this.sample)) {
      exchangeBytes(request);
      return;
    }
    const facts = exchangeFacts(request);
    const entry = request.entry;
    const route = entry?.route ?? null;
    const service = entry?.service ?? null;
    this.logger.info({
      method: request.method,
      path: request.rawPath,
      query: request.rawQuery,
      host: request.host ?? null,
      route: route === null ? null : (route.name ?? route.id),
      service: service === null ? null : (service.name ?? service.id),
      consumer: request.consumerId ?? null,
      status: request.res.statusCode,
      latencies: { request: facts.totalMs, kong: facts.gatewayMs, proxy: facts.upstreamMs },
      request_bytes: facts.requestBytes,
      response_bytes: facts.responseBytes,
      client_ip: request.clientIp,
      trace_id: facts.traceId,
      request_id: facts.id,
      correlation_id: facts.correlationId,
    });
  }
}

/**
 * The access log of this process for `settings`: the observer, and `close` (flushes and ends the
 * writer). Throws when a redact path is invalid.
 */
export function openAccessLog(
  settings: AccessLogSettings,
  random?: () => number,
): { observer: AccessLog; close(): Promise<void> } {
  const problem = redactProblem(settings.redact);
  if (problem !== null) throw new TypeError(`access log: ${problem}`);
  // A pino transport: lines are serialised here and written by a worker thread (pino flushes it
  // at exit). Measured cheaper per line on the request's thread than an async SonicBoom.
  const transport = pino.transport({
    target: 'pino/file',
    options: {
      destination: settings.destination === 'stdout' ? 1 : settings.destination,
      mkdir: settings.destination !== 'stdout',
      append: true,
    },
  });
  transport.on('error', () => undefined);
  const logger = pino(
    {
      base: null,
      timestamp: pino.stdTimeFunctions.isoTime,
      // An empty level formatter makes pino write `{,` (pino 10): the label it is.
      formatters: { level: (label) => ({ level: label }) },
      redact: settings.redact.length > 0 ? { paths: settings.redact, censor: '[REDACTED]' } : undefined,
    },
    transport,
  );
  return {
    observer: new AccessLog(logger, settings.sample, random),
    close: () =>
      new Promise<void>((resolve) => {
        transport.once('close', () => resolve());
        transport.end();
      }),
  };
}

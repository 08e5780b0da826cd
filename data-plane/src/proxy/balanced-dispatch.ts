/** Entry point of a request whose service is balanced over an upstream (see balanced-exchange.ts). */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import type { Logger } from '@gatehouse/shared';
import { hashValue } from '../balancer/hash-value.js';
import { BalancedExchange, type CoreHandler } from './balanced-exchange.js';
import { UpstreamExchange, type ClientSocket } from './exchange.js';
import type { BalancedService } from './service-targets.js';

export interface BalancedRequest {
  method: string;
  /** Upstream path with the query string. */
  path: string;
  /** The query string without `?` ("" when none). */
  query: string;
  /** Normalised request path (hash_on = path). */
  normalizedPath: string;
  /** Upstream request headers; index 1 holds the Host value, set per target. */
  headers: string[];
  hasBody: boolean;
  readTimeout: number;
  preserveHost: boolean;
  captures: Readonly<Record<string, string | undefined>> | null;
  /** Authenticated consumer (or credential) id, for hash_on = consumer. */
  consumerId: string | undefined;
  /**
   * The body from the plugin runtime: one a plugin read or replaced, or the client's stream
   * capped by `limitBody` (a stream that reads `req`); undefined = stream `req` as it is.
   */
  body?: Buffer | Readable;
  /**
   * The handler that writes the response (e.g. the plugin runtime's exchange, for its response
   * phase); an UpstreamExchange when absent. It sees one exchange: retries happen before it.
   */
  handler?: CoreHandler;
}

export function dispatchBalanced(
  service: BalancedService,
  req: IncomingMessage,
  res: ServerResponse,
  logger: Logger,
  r: BalancedRequest,
): void {
  const socket = req.socket as ClientSocket;
  const upstream = service.balancer.upstream;
  const hash =
    upstream.algorithm === 'consistent-hashing'
      ? hashValue(upstream, {
          clientIp: socket.remoteAddress ?? '',
          rawHeaders: req.rawHeaders,
          path: r.normalizedPath,
          query: r.query,
          captures: r.captures,
          consumerId: r.consumerId,
        })
      : null;
  const exchange = new BalancedExchange(
    service,
    r.handler ?? new UpstreamExchange(res, socket, logger, r.method),
    logger,
    r.method,
    req,
    {
      path: r.path,
      method: r.method,
      headers: r.headers,
      body: r.body !== undefined ? r.body : r.hasBody ? req : null,
      headersTimeout: r.readTimeout,
      bodyTimeout: r.readTimeout,
    },
    hash?.value ?? '',
    hash?.setCookie ?? null,
    r.preserveHost,
  );
  exchange.start();
}

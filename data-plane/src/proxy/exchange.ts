/**
 * One proxied request: an undici dispatch handler (the core callback interface, so undici adds no
 * wrapper and no parsed-header object) that writes the upstream response straight into node's
 * ServerResponse, with backpressure both ways and no stream.pipeline.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from '@gatehouse/shared';
import { downstreamResponseHeaders } from './headers.js';
import { sendError, upstreamErrorCode } from './errors.js';

/** The exchange currently served on a client connection (so a closed socket aborts it). */
export const kExchange = Symbol('gatehouse.exchange');
export type ClientSocket = Socket & { [kExchange]?: ClientBoundExchange | null };

const SMALL_FIRST_CHUNK = 16 * 1024;

export class ClientClosedError extends Error {
  readonly code = 'GH_ERR_PROXY_CLIENT_CLOSED';
}

/**
 * What every upstream exchange shares: it registers itself on the client socket, and the upstream
 * request is aborted when the client goes away (before or after undici connected).
 */
export abstract class ClientBoundExchange {
  protected abortUpstream: ((reason?: Error) => void) | null = null;
  protected done = false;
  protected clientGone = false;

  constructor(socket: ClientSocket) {
    socket[kExchange] = this;
  }

  /** Called when the client connection closes before the exchange finished. */
  clientClosed(): void {
    if (this.done) return;
    this.clientGone = true;
    if (this.abortUpstream !== null)
      this.abortUpstream(new ClientClosedError('client closed the connection'));
  }

  /** The exchange is over: a later close of the client connection no longer concerns it. */
  protected detach(socket: ClientSocket): void {
    this.done = true;
    if (socket[kExchange] === this) socket[kExchange] = null;
  }

  // undici DispatchHandler: the connection callback.
  onConnect(abort: (reason?: Error) => void): void {
    this.abortUpstream = abort;
    if (this.clientGone) abort(new ClientClosedError('client closed the connection'));
  }
}

export class UpstreamExchange extends ClientBoundExchange {
  private resumeUpstream: (() => void) | null = null;

  constructor(
    protected readonly res: ServerResponse,
    protected readonly socket: ClientSocket,
    protected readonly logger: Logger,
    protected readonly method: string,
  ) {
    super(socket);
  }

  // --- undici DispatchHandler (core callbacks) ---

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void): boolean {
    if (statusCode < 200) return true;
    this.res.writeHead(statusCode, downstreamResponseHeaders(rawHeaders));
    this.resumeUpstream = resume;
    return true;
  }

  /** Writes the response head with `headers` (already converted), for subclasses adding some. */
  protected writeHead(statusCode: number, headers: string[], resume: () => void): void {
    this.res.writeHead(statusCode, headers);
    this.resumeUpstream = resume;
  }

  onData(chunk: Buffer): boolean {
    const res = this.res;
    // A small first chunk goes out as latin1 text: node then joins it to the header block and
    // sends both in one write instead of a writev of two buffers.
    const ok =
      !res.headersSent && chunk.length <= SMALL_FIRST_CHUNK
        ? res.write(chunk.toString('latin1'), 'latin1')
        : res.write(chunk);
    if (!ok && this.resumeUpstream !== null) res.once('drain', this.resumeUpstream);
    return ok;
  }

  onComplete(): void {
    this.finish();
    this.res.end();
  }

  onError(err: Error): void {
    this.finish();
    if (this.clientGone) return;
    const code = upstreamErrorCode(err);
    this.logger.debug({ err, code, method: this.method }, 'upstream request failed');
    sendError(this.res, code);
  }

  protected finish(): void {
    this.detach(this.socket);
  }
}

/** 'close' listener installed once per client socket. */
export function onClientSocketClose(this: ClientSocket): void {
  const exchange = this[kExchange];
  if (exchange != null) exchange.clientClosed();
}

export type { IncomingMessage };

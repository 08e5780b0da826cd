/**
 * The upstream exchange of a request whose route has plugins: UpstreamExchange's streaming
 * (undici core callbacks straight into the ServerResponse) plus the response phase — response
 * headers set by plugins, and the whole body only when a plugin asked for it.
 */
import type { ServerResponse } from 'node:http';
import type { Logger } from '@gatehouse/shared';
import { downstreamResponseHeaders } from '../../proxy/headers.js';
import { sendError, upstreamErrorCode } from '../../proxy/errors.js';
import { ClientBoundExchange, type ClientSocket } from '../../proxy/exchange.js';
import { PluginErrors } from '../errors.js';
import type { Chain } from './compile.js';
import type { PluginRequest } from './context.js';
import { applyResponseHeaders, headerLookup, runPhase, type PhaseRun } from './phases.js';

const SMALL_FIRST_CHUNK = 16 * 1024;

export class PluginExchange extends ClientBoundExchange {
  private status = 0;
  private headers: string[] | null = null;
  /** Chunks held while the head waits for an async response phase, or the buffered body. */
  private held: Buffer[] | null = null;
  private headWritten = false;
  private endPending = false;
  private resumeUpstream: (() => void) | null = null;

  constructor(
    private readonly res: ServerResponse,
    private readonly socket: ClientSocket,
    private readonly logger: Logger,
    private readonly ctx: PluginRequest,
    private readonly chain: Chain,
    private readonly proto: number,
    private readonly onFailure: (err: unknown) => void,
  ) {
    super(socket);
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void): boolean {
    if (statusCode < 200) return true;
    this.resumeUpstream = resume;
    this.status = statusCode;
    const headers = (this.headers = downstreamResponseHeaders(rawHeaders));
    const ctx = this.ctx;
    ctx.response = { status: statusCode, header: headerLookup(headers), body: null };
    if (this.chain.bufferResponse) {
      this.held = [];
      return true;
    }
    if (this.chain.response === null) {
      this.writeHead();
      return true;
    }
    const r = this.runResponse();
    if (r === undefined) {
      this.writeHead();
      return true;
    }
    this.held = [];
    r.then(
      () => {
        this.writeHead();
        const held = this.held!;
        this.held = null;
        for (const c of held) this.res.write(c);
        if (this.endPending) this.res.end();
        else resume();
      },
      (err: unknown) => this.fail(err),
    );
    return false;
  }

  onData(chunk: Buffer): boolean {
    if (this.held !== null) {
      this.held.push(chunk);
      return true;
    }
    const res = this.res;
    // As UpstreamExchange: a small first chunk as latin1 text joins the header block (one write).
    const ok =
      !res.headersSent && chunk.length <= SMALL_FIRST_CHUNK
        ? res.write(chunk.toString('latin1'), 'latin1')
        : res.write(chunk);
    if (!ok && this.resumeUpstream !== null) res.once('drain', this.resumeUpstream);
    return ok;
  }

  onComplete(): void {
    this.finish();
    if (this.chain.bufferResponse && this.held !== null) {
      const body = Buffer.concat(this.held);
      this.held = null;
      const ctx = this.ctx;
      ctx.response = { status: this.status, header: headerLookup(this.headers!), body };
      const end = (): void => {
        const h = this.headers!;
        for (let i = 0; i < h.length; i += 2) {
          if (h[i]!.toLowerCase() === 'content-length') h[i + 1] = String(body.length);
        }
        this.writeHead();
        this.res.end(body);
      };
      const r = this.runResponse();
      if (r === undefined) end();
      else r.then(end, (err: unknown) => this.fail(err));
      return;
    }
    if (!this.headWritten) {
      this.endPending = true;
      return;
    }
    this.res.end();
  }

  onError(err: Error): void {
    this.finish();
    if (this.clientGone) return;
    const limiter = this.ctx.bodyLimiter;
    if (limiter !== null && limiter.exceeded) {
      // The body crossed a plugin's cap (limitBody): the runtime answers 413 and closes.
      this.onFailure(PluginErrors.bodyTooLarge('request body larger than the limit', {}, { cause: err }));
      return;
    }
    const code = upstreamErrorCode(err);
    this.logger.debug({ err, code, method: this.ctx.method }, 'upstream request failed');
    sendError(this.res, code);
  }

  private runResponse(): PhaseRun {
    try {
      return runPhase(this.ctx, this.chain.response, 'response', this.proto);
    } catch (e) {
      this.fail(e);
      return undefined;
    }
  }

  private fail(err: unknown): void {
    if (this.abortUpstream !== null && !this.done) this.abortUpstream(err as Error);
    this.onFailure(err);
  }

  private writeHead(): void {
    if (this.headWritten || this.res.headersSent) return;
    this.headWritten = true;
    this.res.writeHead(this.status, applyResponseHeaders(this.headers!, this.ctx));
  }

  private finish(): void {
    this.detach(this.socket);
  }
}

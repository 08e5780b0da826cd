/**
 * The upstream exchange of a request whose route has plugins: the proxy's UpstreamExchange
 * (streaming with backpressure, client-close abort, error answers) plus the response phase —
 * response headers set by plugins, and the whole body only when a plugin asked for it.
 */
import { downstreamResponseHeaders } from '../../proxy/headers.js';
import { UpstreamExchange } from '../../proxy/exchange.js';
import type { ProxyErrorCode } from '../../proxy/errors.js';
import { PluginErrors } from '../errors.js';
import type { Chain } from './compile.js';
import type { PluginRequest } from './context.js';
import { applyResponseHeaders, headerLookup, runPhase, type PhaseRun } from './phases.js';
import type { PluginRunner } from './runner.js';

export class PluginExchange extends UpstreamExchange {
  private status = 0;
  private headers: string[] | null = null;
  private headWritten = false;
  private endPending = false;

  constructor(
    private readonly ctx: PluginRequest,
    private readonly chain: Chain,
    /** Answers a failure of the response phase (or a body over a cap). */
    private readonly runner: PluginRunner,
  ) {
    super(ctx.proxied);
  }

  override onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void): boolean {
    if (statusCode < 200) return true;
    this.resumeUpstream = resume;
    this.status = statusCode;
    const headers = (this.headers = downstreamResponseHeaders(rawHeaders));
    const chain = this.chain;
    // The response view is for the response and log phases only.
    if (chain.response !== null || chain.log !== null)
      this.ctx.response = { status: statusCode, header: headerLookup(headers), body: null };
    if (chain.bufferResponse) {
      this.held = [];
      return true;
    }
    if (chain.response === null) {
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
        const res = this.request.res;
        for (const c of held) res.write(c);
        if (this.endPending) res.end();
        else resume();
      },
      (err: unknown) => this.fail(err),
    );
    return false;
  }

  override onComplete(): void {
    this.finish();
    const res = this.request.res;
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
        res.end(body);
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
    res.end();
  }

  protected override answerError(err: Error): void {
    const limiter = this.ctx.bodyLimiter;
    if (limiter !== null && limiter.exceeded) {
      // The body crossed a plugin's cap (limitBody): the runtime answers 413 and closes.
      this.runner.fail(
        this.ctx,
        PluginErrors.bodyTooLarge('request body larger than the limit', {}, { cause: err }),
      );
      return;
    }
    super.answerError(err);
  }

  /** The gateway's answer goes through the response phase first (Kong's header_filter). */
  protected override sendAnswer(code: ProxyErrorCode): void {
    this.runner.sendGatewayError(this.ctx, code);
  }

  private runResponse(): PhaseRun {
    try {
      return runPhase(this.ctx, this.chain.response, 'response');
    } catch (e) {
      this.fail(e);
      return undefined;
    }
  }

  private fail(err: unknown): void {
    if (this.abortUpstream !== null && !this.done) this.abortUpstream(err as Error);
    this.runner.fail(this.ctx, err);
  }

  private writeHead(): void {
    const res = this.request.res;
    if (this.headWritten || res.headersSent) return;
    this.headWritten = true;
    res.writeHead(this.status, applyResponseHeaders(this.headers!, this.ctx));
  }
}

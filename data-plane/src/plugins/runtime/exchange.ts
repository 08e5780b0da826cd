/**
 * The upstream exchange of a request whose route has plugins: the proxy's UpstreamExchange
 * (streaming with backpressure, client-close abort, error answers) plus the response phase —
 * response headers set by plugins, and the whole body only when a plugin asked for it.
 */
import { performance } from 'node:perf_hooks';
import { downstreamResponseHeaders } from '../../proxy/headers.js';
import { UpstreamExchange, writeTrailers, type RawHeaders } from '../../proxy/exchange.js';
import { ProxyErrorCode } from '../../proxy/errors.js';
import { PluginErrors } from '../errors.js';
import { RESPONSE_BUFFER_LIMIT, type ResponseHead, type ResponseTransform } from '../api.js';
import { protocolOf, type Chain } from './compile.js';
import type { PluginRequest } from './context.js';
import { applyResponseHeaders, headerLookup, runPhase, type PhaseRun } from './phases.js';
import type { PluginRunner } from './runner.js';

export class PluginExchange extends UpstreamExchange {
  private status = 0;
  private headers: string[] | null = null;
  private headWritten = false;
  private endPending = false;
  /** The upstream's trailers (HTTP/2 upstreams), written before the end. */
  private trailers: string[] | null = null;
  /** The body is being held whole for the response phase (bufferResponse). */
  private buffering = false;
  private heldBytes = 0;
  /** The response was refused (over `limitResponseBody`): the abort's error is not answered again. */
  private refused = false;
  /** A response handler answered (`respond`): its status replaces the upstream's, the body is dropped. */
  private replaced = false;
  /** The plugin's re-encoding of this response (`transformResponse`, accepted by its `head`), or null. */
  private transform: ResponseTransform | null = null;

  constructor(
    private readonly ctx: PluginRequest,
    private readonly chain: Chain,
    /** Answers a failure of the response phase (or a body over a cap). */
    private readonly runner: PluginRunner,
  ) {
    super(ctx.proxied);
  }

  override onHeaders(statusCode: number, rawHeaders: RawHeaders, resume: () => void): boolean {
    if (statusCode < 200) return true;
    this.ctx.proxied.upstreamHeadersAt = performance.now();
    this.resumeUpstream = resume;
    this.status = statusCode;
    const headers = (this.headers = this.transformedHead(statusCode, downstreamResponseHeaders(rawHeaders)));
    const chain = this.chain;
    // The response view is for the response and log phases only.
    if (chain.response !== null || chain.log !== null) this.ctx.setResponse(statusCode, headers, null);
    // A gRPC response streams: a body-rewriting response phase runs without the body.
    if (chain.bufferResponse && !this.ctx.proxied.grpc && wantsBody(this.ctx, chain, statusCode, headers)) {
      const length = this.ctx.response!.header('content-length');
      const cap = this.ctx.responseBodyLimit;
      if (cap !== null && length !== undefined && Number(length) > cap) {
        this.refuseTooLarge();
        return false;
      }
      if (cap === null && length !== undefined && Number(length) > RESPONSE_BUFFER_LIMIT) {
        this.writeHead();
        return chain.response === null ? true : this.respondThenStream();
      }
      this.buffering = true;
      this.held = [];
      return true;
    }
    if (chain.response === null) {
      this.writeHead();
      return true;
    }
    return this.respondThenStream();
  }

  override onData(chunk: Buffer): boolean {
    if (this.replaced) return true;
    return this.forward(this.transform === null ? chunk : this.transform.data(chunk));
  }

  /** Passes a body chunk (re-encoded already) to the client, or holds it for the response phase. */
  private forward(chunk: Buffer): boolean {
    if (chunk.length === 0) return true;
    if (!this.buffering) return super.onData(chunk);
    this.held!.push(chunk);
    this.heldBytes += chunk.length;
    const cap = this.ctx.responseBodyLimit;
    if (this.heldBytes <= (cap ?? RESPONSE_BUFFER_LIMIT)) return true;
    if (cap !== null) {
      // A plugin that must see the whole body (limitResponseBody) never lets it pass unseen.
      this.refuseTooLarge();
      return false;
    }
    // Too large to hold: the response phase runs without the body and the rest streams.
    this.buffering = false;
    this.ctx.log.warn(
      { limit: RESPONSE_BUFFER_LIMIT },
      'response body larger than the buffer limit: sent unchanged',
    );
    return this.respondThenStream();
  }

  override onComplete(trailers?: string[] | null): void {
    if (this.refused) return;
    this.trailers = trailers ?? null;
    if (this.transform !== null) {
      // The trailers end the re-encoded body instead of going out as HTTP trailers.
      const tail = this.transform.end(this.trailers);
      this.trailers = null;
      if (!this.replaced) this.forward(tail);
      if (this.refused) return;
    }
    this.finish();
    const res = this.request.res;
    if (this.replaced) return;
    if (this.buffering) {
      this.buffering = false;
      const held = this.held!;
      this.held = null;
      const upstreamBody = held.length === 1 ? held[0]! : Buffer.concat(held);
      const ctx = this.ctx;
      ctx.setResponse(this.status, this.headers!, upstreamBody, this.trailers);
      const end = (): void => {
        const body = ctx.responseBody ?? upstreamBody;
        this.headers = withLength(this.headers!, body.length);
        this.writeHead();
        if (!this.replaced) res.end(body);
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
    writeTrailers(this.request, this.trailers);
    res.end();
  }

  protected override answerError(err: Error): void {
    if (this.refused) return;
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

  /**
   * The upstream's head as the client gets it: a plugin's response transform decides (and takes
   * the response, its length then unknown), else as it is.
   */
  private transformedHead(status: number, headers: string[]): string[] {
    const t = this.ctx.responseTransform;
    if (t === null) return headers;
    const out = t.head(status, headers);
    if (out === null) return headers;
    this.transform = t;
    return withoutLength(out);
  }

  /** The gateway's answer goes through the response phase first (Kong's header_filter). */
  protected override sendAnswer(code: ProxyErrorCode): void {
    this.runner.sendGatewayError(this.ctx, code);
  }

  /**
   * Runs the response phase over the head, then writes the head and what is held, and lets the
   * body stream. Returns what undici's onHeaders/onData expect: false while the phase is pending
   * (the upstream is paused and resumed after).
   */
  private respondThenStream(): boolean {
    const r = this.runResponse();
    if (r === undefined) {
      this.writeHead();
      return this.flushHeld();
    }
    this.held ??= [];
    r.then(
      () => {
        this.writeHead();
        if (this.flushHeld() && !this.endPending) this.resumeUpstream?.();
      },
      (err: unknown) => this.fail(err),
    );
    return false;
  }

  /** Writes the held chunks (and ends when the upstream finished meanwhile); false = wait for drain. */
  private flushHeld(): boolean {
    const held = this.held;
    this.held = null;
    if (this.replaced) return true;
    const res = this.request.res;
    let ok = true;
    if (held !== null) for (const c of held) ok = res.write(c);
    if (this.endPending) {
      writeTrailers(this.request, this.trailers);
      res.end();
      return true;
    }
    if (!ok && this.resumeUpstream !== null) {
      res.once('drain', this.resumeUpstream);
      return false;
    }
    return true;
  }

  /** A buffered response over `limitResponseBody`: abort the upstream and answer 502. */
  private refuseTooLarge(): void {
    this.refused = true;
    this.buffering = false;
    this.held = null;
    if (this.abortUpstream !== null && !this.done)
      this.abortUpstream(new Error('response body larger than the plugin limit'));
    this.finish();
    this.ctx.log.warn(
      { code: ProxyErrorCode.RESPONSE_TOO_LARGE, limit: this.ctx.responseBodyLimit },
      'upstream response over the buffering limit refused',
    );
    this.runner.sendGatewayError(this.ctx, ProxyErrorCode.RESPONSE_TOO_LARGE);
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
    const sc = this.ctx.shortCircuit;
    if (sc !== null) {
      // Kong's kong.response.exit in header_filter: the status (and headers) replace the
      // upstream's, the upstream body is read and dropped (response-ratelimiting's 429).
      this.replaced = true;
      const headers = withoutBody(this.headers!);
      headers.push('content-length', String(sc.body?.length ?? 0));
      if (sc.contentType !== null) headers.push('content-type', sc.contentType);
      for (const [name, value] of Object.entries(sc.headers))
        if (typeof value === 'string') headers.push(name, value);
        else for (const v of value) headers.push(name, v);
      res.writeHead(sc.status, applyResponseHeaders(headers, this.ctx));
      res.end(sc.body ?? undefined);
      return;
    }
    res.writeHead(this.status, applyResponseHeaders(this.headers!, this.ctx));
  }
}

const BODY_HEADERS = new Set(['content-length', 'transfer-encoding', 'content-encoding', 'content-type']);

/** The upstream's headers without those that describe its body (a replaced answer drops it). */
function withoutBody(headers: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < headers.length; i += 2)
    if (!BODY_HEADERS.has(headers[i]!.toLowerCase())) out.push(headers[i]!, headers[i + 1]!);
  return out;
}

/** Content-Length `length` in place of the upstream's length headers (Transfer-Encoding dropped). */
function withLength(headers: string[], length: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < headers.length; i += 2) {
    const lower = headers[i]!.toLowerCase();
    if (lower !== 'content-length' && lower !== 'transfer-encoding') out.push(headers[i]!, headers[i + 1]!);
  }
  out.push('content-length', String(length));
  return out;
}

/** The headers without Content-Length (a re-encoded body's length is not known ahead). */
function withoutLength(headers: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < headers.length; i += 2)
    if (headers[i]!.toLowerCase() !== 'content-length') out.push(headers[i]!, headers[i + 1]!);
  return out;
}

/**
 * Whether some response-phase plugin of this request wants the whole body of this response:
 * never for HEAD, 204 and 304 (a declared length over the limit is checked by the caller).
 */
function wantsBody(ctx: PluginRequest, chain: Chain, status: number, headers: readonly string[]): boolean {
  if (status === 204 || status === 304 || ctx.method === 'HEAD') return false;
  const head: ResponseHead = { status, header: headerLookup(headers) };
  const proto = protocolOf(ctx.proxied);
  for (const slot of chain.response!) {
    const want = slot.def.bufferResponse;
    if (want === undefined || want === false) continue;
    const inst = ctx.instanceFor(slot);
    if (inst === null || (inst.protocols & proto) === 0) continue;
    if (want === true || want(inst.state, head)) return true;
  }
  return false;
}

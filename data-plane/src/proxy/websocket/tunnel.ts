/**
 * The two sockets of an upgraded WebSocket connection piped into each other, bytes as they come
 * (frames are not parsed; the optional FrameLimiter reads only their headers), with backpressure
 * both ways. The tunnel closes when either side closes or fails, when it has been idle (no byte
 * either way) for `idleTimeoutMs` — the service's `read_timeout`, as nginx's proxy_read_timeout
 * closes Kong's WebSocket tunnels — or when a message passes `maxMessageSize` (close 1009 sent to
 * both sides, as Kong's websocket-size-limit does).
 */
import type { Duplex } from 'node:stream';
import type { Socket } from 'node:net';
import { CLOSE_GOING_AWAY, CLOSE_MESSAGE_TOO_BIG, closeFrame, FrameLimiter } from './frame-limit.js';

export interface TunnelOptions {
  /** Closed after this long without a byte in either direction (ms); 0 = never. */
  readonly idleTimeoutMs: number;
  /** Largest message payload either side may send (bytes); 0 = no limit. */
  readonly maxMessageSize: number;
}

/** Time a side has to take the close frame before its socket is destroyed. */
const CLOSE_GRACE_MS = 1_000;

export class Tunnel {
  private closed = false;
  private readonly clientLimit: FrameLimiter | null;
  private readonly upstreamLimit: FrameLimiter | null;

  constructor(
    private readonly client: Socket,
    private readonly upstream: Duplex,
    private readonly options: TunnelOptions,
  ) {
    const max = options.maxMessageSize;
    this.clientLimit = max > 0 ? new FrameLimiter(max) : null;
    this.upstreamLimit = max > 0 ? new FrameLimiter(max) : null;
  }

  /** Starts piping (bytes read past either head were put back on its socket). */
  start(): void {
    const { client, upstream } = this;
    client.setNoDelay(true);
    if (this.options.idleTimeoutMs > 0) {
      // The client socket sees both directions (it reads one and writes the other).
      client.setTimeout(this.options.idleTimeoutMs, this.onIdle);
    }
    client.on('error', this.onError);
    upstream.on('error', this.onError);
    client.on('close', this.onClose);
    upstream.on('close', this.onClose);
    client.on('end', this.onClientEnd);
    upstream.on('end', this.onUpstreamEnd);
    client.on('data', this.onClientData);
    upstream.on('data', this.onUpstreamData);
    client.on('drain', this.resumeUpstream);
    upstream.on('drain', this.resumeClient);
    client.resume();
    upstream.resume();
  }

  private readonly onClientData = (chunk: Buffer): void => {
    if (this.closed) return;
    if (this.clientLimit !== null && !this.clientLimit.feed(chunk)) {
      this.close(CLOSE_MESSAGE_TOO_BIG);
      return;
    }
    if (!this.upstream.write(chunk)) this.client.pause();
  };

  private readonly onUpstreamData = (chunk: Buffer): void => {
    if (this.closed) return;
    if (this.upstreamLimit !== null && !this.upstreamLimit.feed(chunk)) {
      this.close(CLOSE_MESSAGE_TOO_BIG);
      return;
    }
    if (!this.client.write(chunk)) this.upstream.pause();
  };

  private readonly resumeClient = (): void => {
    if (!this.closed) this.client.resume();
  };

  private readonly resumeUpstream = (): void => {
    if (!this.closed) this.upstream.resume();
  };

  private readonly onIdle = (): void => this.close(CLOSE_GOING_AWAY);

  /** A half-close is passed on (the other side then ends its half). */
  private readonly onClientEnd = (): void => {
    if (!this.closed) this.upstream.end();
  };

  private readonly onUpstreamEnd = (): void => {
    if (!this.closed) this.client.end();
  };

  private readonly onError = (): void => this.destroy();

  private readonly onClose = (): void => this.destroy();

  /**
   * The gateway ends the connection: a close frame with `code` to each side (unmasked to the
   * client, masked to the upstream, as a client's must be), then both sockets ended; whatever
   * either sends afterwards is discarded, and a side that does not close is destroyed after a grace.
   */
  close(code: number): void {
    if (this.closed) return;
    this.closed = true;
    const { client, upstream } = this;
    client.setTimeout(0);
    if (!client.destroyed) client.end(closeFrame(code, false));
    if (!upstream.destroyed) upstream.end(closeFrame(code, true));
    client.resume();
    upstream.resume();
    const timer = setTimeout(() => this.destroy(), CLOSE_GRACE_MS);
    timer.unref();
    client.once('close', () => clearTimeout(timer));
  }

  /** Tears both sockets down at once (one side closed or failed). */
  destroy(): void {
    this.closed = true;
    this.client.setTimeout(0);
    if (!this.client.destroyed) this.client.destroy();
    if (!this.upstream.destroyed) this.upstream.destroy();
  }
}

/**
 * Simple binds against one LDAP server through `ldapts`, with Kong's connection options:
 * `ldaps` (TLS from the first byte), `start_tls` (the StartTLS operation on a new connection),
 * `verify_ldap_host` (certificate and name checked against Node's trusted CAs), `timeout` (connect
 * and each operation) and `keepalive` (an idle connection is reused for the next bind, then closed
 * after that many milliseconds; 0 closes it after each bind). A connection serves one bind at a
 * time. `bind` resolves true (bound), false (the server refused: wrong password, unknown entry,
 * any other LDAP result code) or rejects with `LdapUnavailable` (no answer: refused connection,
 * timeout, TLS failure, closed socket, or the result codes busy / unavailable).
 */
import type { ConnectionOptions } from 'node:tls';
import { BusyError, Client, ResultCodeError, UnavailableError } from 'ldapts';

export interface LdapTarget {
  readonly host: string;
  readonly port: number;
  readonly ldaps: boolean;
  readonly startTls: boolean;
  readonly verify: boolean;
  readonly timeout: number;
  readonly keepalive: number;
}

/** The LDAP server could not be asked (Kong answers 500). */
export class LdapUnavailable extends Error {
  constructor(cause: unknown) {
    super(`LDAP server unavailable: ${cause instanceof Error ? cause.message : String(cause)}`);
    this.name = 'LdapUnavailable';
  }
}

/** Idle connections kept per target at most (more concurrent binds open more, closed after use). */
const MAX_IDLE = 16;

interface Idle {
  readonly client: Client;
  readonly timer: NodeJS.Timeout;
}

const close = (client: Client): void => {
  client.unbind().catch(() => undefined);
};

export class LdapBinder {
  private readonly idle: Idle[] = [];
  private readonly url: string;
  private readonly tls: ConnectionOptions;

  constructor(private readonly target: LdapTarget) {
    const host = target.host.includes(':') ? `[${target.host}]` : target.host;
    this.url = `${target.ldaps ? 'ldaps' : 'ldap'}://${host}:${target.port}`;
    this.tls = {
      rejectUnauthorized: target.verify,
      // SNI only for names (an IP address as servername is refused by Node).
      ...(/^[\d.]+$|:/.test(target.host) ? {} : { servername: target.host }),
      host: target.host,
    };
  }

  async bind(dn: string, password: string): Promise<boolean> {
    const reused = this.takeIdle();
    if (reused !== null) {
      try {
        return await this.bindOn(reused, dn, password);
      } catch (err) {
        if (!(err instanceof LdapUnavailable)) throw err;
        // A pooled connection the server closed meanwhile: one retry on a new connection.
      }
    }
    return this.bindOn(await this.connect(), dn, password);
  }

  /** Closes the idle connections (a test's teardown; the timers close them otherwise). */
  closeIdle(): void {
    for (const { client, timer } of this.idle.splice(0)) {
      clearTimeout(timer);
      close(client);
    }
  }

  private takeIdle(): Client | null {
    for (;;) {
      const entry = this.idle.pop();
      if (entry === undefined) return null;
      clearTimeout(entry.timer);
      // Never reuse a closed connection: ldapts would reconnect it in clear (StartTLS lost).
      if (entry.client.isConnected) return entry.client;
      close(entry.client);
    }
  }

  private async connect(): Promise<Client> {
    const t = this.target;
    const client = new Client({
      url: this.url,
      timeout: t.timeout,
      connectTimeout: t.timeout,
      ...(t.ldaps ? { tlsOptions: this.tls } : {}),
    });
    try {
      if (t.startTls) await client.startTLS({ ...this.tls });
      return client;
    } catch (err) {
      close(client);
      throw new LdapUnavailable(err);
    }
  }

  private async bindOn(client: Client, dn: string, password: string): Promise<boolean> {
    let bound: boolean;
    try {
      // A new plain connection is opened by the bind itself; a StartTLS one is connected already.
      if (this.target.startTls && !client.isConnected) throw new Error('connection closed');
      await client.bind(dn, password);
      bound = true;
    } catch (err) {
      // busy (51) / unavailable (52) say nothing about the password: the server is not answering.
      if (!(err instanceof ResultCodeError) || err instanceof BusyError || err instanceof UnavailableError) {
        close(client);
        throw new LdapUnavailable(err);
      }
      bound = false;
    }
    this.release(client);
    return bound;
  }

  private release(client: Client): void {
    if (this.target.keepalive <= 0 || this.idle.length >= MAX_IDLE || !client.isConnected) {
      close(client);
      return;
    }
    const timer = setTimeout(() => {
      const i = this.idle.findIndex((e) => e.client === client);
      if (i >= 0) this.idle.splice(i, 1);
      close(client);
    }, this.target.keepalive);
    timer.unref();
    this.idle.push({ client, timer });
  }
}

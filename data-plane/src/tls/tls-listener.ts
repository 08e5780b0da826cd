/**
 * The HTTPS proxy listener: node:https with an SNICallback over the configuration's
 * CertificateStore, and a default self-signed certificate (generated once, when the listener
 * starts; CN=localhost, as Kong's) for clients without SNI or with a name no SNI matches.
 * Versions and ciphers come from one TlsPolicy (shared/src/tls-policy.ts) for every certificate.
 */
import https from 'node:https';
import type http from 'node:http';
import http1 from 'node:http';
import type tls from 'node:tls';
import type { AddressInfo } from 'node:net';
import type { Logger } from '@gatehouse/shared';
import { CertificateStore } from './certificate-store.js';
import { LISTEN_BACKLOG } from '../proxy/client-connections.js';
import { createCertificate, type CertificateAndKey } from './x509.js';
import { DEFAULT_TLS_POLICY, secureContextOptions, type TlsPolicy } from '@gatehouse/shared/tls-policy';

/**
 * Sets whether new connections are asked for a client certificate. node's tls.Server reads its
 * `requestCert` for every connection it accepts (the handshake's verify mode is fixed then, before
 * the client's SNI is known), so this is per listener, not per SNI: see docs/security.md.
 */
function askForClientCertificates(server: https.Server, ask: boolean): void {
  (server as https.Server & { requestCert: boolean }).requestCert = ask;
}

/** node's HTTP/1.1 connection setup, which https.Server runs on each 'secureConnection'. */
const http1Connection = (
  http1 as unknown as { _connectionListener: (this: http.Server, socket: tls.TLSSocket) => void }
)._connectionListener;

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;
/** Installs the proxy's per-connection hooks (limits, clientError) on a server. */
type Instrument = (server: http.Server, secure: boolean) => void;

export class TlsListener {
  private store: CertificateStore = CertificateStore.empty();
  server: https.Server | null = null;

  /** Replaced on every configuration swap; read at each handshake. */
  get certificates(): CertificateStore {
    return this.store;
  }

  set certificates(store: CertificateStore) {
    this.store = store;
    if (this.server !== null) askForClientCertificates(this.server, store.requestClientCertificates);
  }

  constructor(
    private readonly logger: Logger,
    /** The plain listener's server options (timeouts, keep-alive), applied here too. */
    private readonly serverOptions: http.ServerOptions,
    private readonly instrument: Instrument,
    private readonly handler: Handler,
    /**
     * Serves the connections that negotiate `h2` by ALPN (the proxy's Http2Edge), or null: the
     * listener then offers `http/1.1` only.
     */
    private readonly h2: ((socket: tls.TLSSocket) => void) | null = null,
  ) {}

  /**
   * Starts listening; resolves with the bound port. `defaultCertificate` is served when no SNI
   * matches (Kong's `ssl_cert`/`ssl_cert_key`); without it a self-signed one is generated. Worker
   * processes should all get the same one (generated once by the primary), so clients see one
   * default certificate whichever worker accepts them.
   */
  listen(
    port: number,
    host: string,
    defaultCertificate?: CertificateAndKey,
    policy: TlsPolicy = DEFAULT_TLS_POLICY,
  ): Promise<number> {
    if (this.server !== null) return Promise.reject(new Error('the TLS listener is already started'));
    const fallback =
      defaultCertificate ?? createCertificate({ commonName: 'localhost', altNames: ['localhost'] });
    const server = https.createServer(
      {
        ...this.serverOptions,
        ...secureContextOptions(policy),
        cert: fallback.cert,
        key: fallback.key,
        ALPNProtocols: this.h2 === null ? ['http/1.1'] : ['h2', 'http/1.1'],
        // A client certificate is asked for only while some plugin reads it, and never verified
        // here: a client without one (or with one no plugin trusts) still connects.
        requestCert: this.store.requestClientCertificates,
        rejectUnauthorized: false,
        SNICallback: (servername: string, cb: (err: Error | null, ctx?: tls.SecureContext) => void) => {
          cb(null, this.store.select(servername));
        },
      },
      this.handler,
    );
    const h2 = this.h2;
    if (h2 !== null) {
      // One listener decides by the protocol ALPN chose: h2 to the HTTP/2 sessions, anything else
      // (http/1.1, or no ALPN) to node's HTTP/1.1 setup exactly as before.
      server.removeListener('secureConnection', http1Connection);
      server.prependListener('secureConnection', function (this: https.Server, socket: tls.TLSSocket) {
        if (socket.alpnProtocol === 'h2') h2(socket);
        else http1Connection.call(this, socket);
      });
    }
    this.instrument(server, true);
    server.on('tlsClientError', (err: Error) => {
      this.logger.debug({ err }, 'TLS handshake failed');
    });
    this.server = server;
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => {
        this.server = null;
        reject(err);
      };
      server.once('error', onError);
      server.listen({ port, host, backlog: LISTEN_BACKLOG }, () => {
        server.off('error', onError);
        const address = server.address() as AddressInfo | null;
        resolve(address === null ? port : address.port);
      });
    });
  }

  async close(): Promise<void> {
    const server = this.server;
    if (server === null || !server.listening) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    const force = setTimeout(() => server.closeAllConnections(), 5_000);
    force.unref();
    await closed;
    clearTimeout(force);
  }
}

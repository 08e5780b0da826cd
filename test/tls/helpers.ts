import https from 'node:https';
import type { IncomingHttpHeaders } from 'node:http';
import type { PeerCertificate, TLSSocket } from 'node:tls';
import type { Certificate, Sni } from '@gatehouse/shared';

let seq = 5000;

export function certificate(id: string, pair: { cert: string; key: string }): Certificate {
  seq++;
  return {
    id,
    cert: pair.cert,
    key: pair.key,
    cert_alt: null,
    key_alt: null,
    tags: null,
    created_at: seq,
    updated_at: seq,
  };
}

export function sni(id: string, name: string, certificateId: string): Sni {
  seq++;
  return { id, name, certificate: { id: certificateId }, tags: null, created_at: seq, updated_at: seq };
}

export interface TlsReply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  /** The certificate the proxy presented. */
  peer: PeerCertificate;
}

/** One HTTPS request to 127.0.0.1:port with `servername` as SNI (none when undefined). */
export function tlsCall(
  port: number,
  path: string,
  options: { servername?: string; headers?: Record<string, string> } = {},
): Promise<TlsReply> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: '127.0.0.1',
        port,
        path,
        // empty string: node then sends no SNI
        servername: options.servername ?? '',
        rejectUnauthorized: false,
        agent: false,
        headers: options.headers,
      },
      (res) => {
        const peer = (res.socket as TLSSocket).getPeerCertificate();
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body, peer }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

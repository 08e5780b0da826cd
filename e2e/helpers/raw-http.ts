/**
 * One HTTP/1.x exchange on a raw socket: the request bytes go out exactly as given (no client
 * library normalises the target or the headers), the answer is read until the server closes.
 */
import net from 'node:net';

export interface RawReply {
  /** The status code, or null when the server sent no status line (reset or silence). */
  status: number | null;
  headers: Record<string, string>;
  body: string;
  /** Everything received. */
  raw: string;
}

function dechunk(text: string): string {
  let out = '';
  let at = 0;
  for (;;) {
    const eol = text.indexOf('\r\n', at);
    if (eol < 0) return out;
    const size = parseInt(text.slice(at, eol), 16);
    if (!(size > 0)) return out;
    out += text.slice(eol + 2, eol + 2 + size);
    at = eol + 2 + size + 2;
  }
}

export function rawHttp(port: number, request: string | Buffer, timeoutMs = 10_000): Promise<RawReply> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let data = '';
    const done = (): void => {
      clearTimeout(timer);
      socket.destroy();
      const m = /^HTTP\/1\.[01] (\d{3})[^\r\n]*\r\n([\s\S]*?)\r\n\r\n([\s\S]*)$/.exec(data);
      const headers: Record<string, string> = {};
      for (const line of m?.[2]?.split('\r\n') ?? []) {
        const colon = line.indexOf(':');
        if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      let body = m?.[3] ?? '';
      if (headers['transfer-encoding'] === 'chunked') body = dechunk(body);
      resolve({ status: m ? Number(m[1]) : null, headers, body, raw: data });
    };
    const timer = setTimeout(done, timeoutMs);
    socket.on('connect', () => socket.write(request));
    socket.on('data', (c: Buffer) => (data += c.toString('latin1')));
    socket.on('end', done);
    socket.on('error', done);
  });
}

/** `GET target` with Host and `Connection: close`, plus `extra` header lines. */
export function rawGet(
  port: number,
  target: string,
  extra: string[] = [],
  host = 'gw.example',
): Promise<RawReply> {
  const lines = [`GET ${target} HTTP/1.1`, `Host: ${host}`, ...extra, 'Connection: close', '', ''];
  return rawHttp(port, Buffer.from(lines.join('\r\n'), 'latin1'));
}

// The second floor of dp-cpu.mjs: node:http server → a minimal HTTP/1.1 upstream client (keep-alive
// net.Socket connections, node's own llhttp response parser from _http_common), the same job as
// floor-proxy.mjs without undici: what undici costs on the floor (test/bench/README.md).
import http from 'node:http';
import net from 'node:net';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const { HTTPParser } = createRequire(import.meta.url)('_http_common');
const kOnHeaders = HTTPParser.kOnHeaders | 0;
const kOnHeadersComplete = HTTPParser.kOnHeadersComplete | 0;
const kOnBody = HTTPParser.kOnBody | 0;
const kOnMessageComplete = HTTPParser.kOnMessageComplete | 0;

class Conn {
  constructor(pool) {
    this.pool = pool;
    this.res = null;
    this.socket = net.connect(pool.port, pool.host);
    this.socket.setNoDelay(true);
    const parser = (this.parser = new HTTPParser());
    parser.initialize(HTTPParser.RESPONSE, {}, 0, 0);
    parser[kOnHeaders] = () => {};
    parser[kOnHeadersComplete] = (maj, min, headers, method, url, status) => {
      this.res.writeHead(status, headers);
      return 0;
    };
    parser[kOnBody] = (b) => {
      this.res.write(b);
    };
    parser[kOnMessageComplete] = () => {
      const res = this.res;
      this.res = null;
      res.end();
      this.pool.release(this);
    };
    this.socket.on('data', (d) => {
      const r = parser.execute(d);
      if (r instanceof Error) this.socket.destroy(r);
    });
    this.socket.on('error', () => {});
    this.socket.on('close', () => {
      if (this.res) {
        this.res.statusCode = 502;
        this.res.end();
      }
      this.pool.drop(this);
    });
  }
  send(req, res) {
    this.res = res;
    let head = `${req.method} ${req.url} HTTP/1.1\r\n`;
    const raw = req.rawHeaders;
    for (let i = 0; i < raw.length; i += 2) head += `${raw[i]}: ${raw[i + 1]}\r\n`;
    this.socket.write(head + '\r\n', 'latin1');
  }
}

class Pool {
  constructor(port) {
    this.port = port;
    this.host = '127.0.0.1';
    this.idle = [];
  }
  dispatch(req, res) {
    const c = this.idle.pop() ?? new Conn(this);
    c.send(req, res);
  }
  release(c) {
    this.idle.push(c);
  }
  drop(c) {
    const i = this.idle.indexOf(c);
    if (i >= 0) this.idle.splice(i, 1);
  }
}

export function startFloor(port, upstreamPort) {
  const pool = new Pool(upstreamPort);
  const server = http.createServer((req, res) => pool.dispatch(req, res));
  server.keepAliveTimeout = 60_000;
  return new Promise((ok) => server.listen(port, '127.0.0.1', () => ok({ port: server.address().port })));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await startFloor(Number(process.env.PORT), Number(process.env.UPSTREAM_PORT));
  process.once('SIGTERM', () => process.exit(0));
}

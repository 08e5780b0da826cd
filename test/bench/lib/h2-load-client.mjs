// The HTTP/2 load client of h2-edge.mjs, a child process (its CPU is not the proxy's): for each
// message {url, n, concurrency, sessions} it sends n GETs over `sessions` HTTP/2 connections (h2c
// with prior knowledge, or h2 over TLS for an https URL), `concurrency` streams at a time in all,
// then answers {done: true} (or {error}). Sessions stay open between messages.
import http2 from 'node:http2';

const sessions = new Map();

function sessionsFor(origin, count) {
  let list = sessions.get(origin);
  if (list === undefined || list.length !== count || list.some((s) => s.destroyed || s.closed)) {
    for (const s of list ?? []) s.destroy();
    list = Array.from({ length: count }, () => http2.connect(origin, { rejectUnauthorized: false }));
    for (const s of list) s.on('error', () => {});
    sessions.set(origin, list);
  }
  return list;
}

function get(session, path) {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ':path': path });
    stream.on('response', () => {});
    stream.resume();
    stream.on('end', resolve);
    stream.on('error', reject);
  });
}

process.on('message', async ({ url, n, concurrency, sessions: count = 1 }) => {
  try {
    const u = new URL(url);
    const list = sessionsFor(u.origin, count);
    const path = u.pathname + u.search;
    let next = 0;
    const worker = async (i) => {
      const s = list[i % list.length];
      while (next < n) {
        next++;
        await get(s, path);
      }
    };
    await Promise.all(Array.from({ length: concurrency }, (_, i) => worker(i)));
    process.send({ done: true });
  } catch (err) {
    process.send({ error: String(err) });
  }
});

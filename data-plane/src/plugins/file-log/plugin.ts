/**
 * file-log (Kong priority 9): appends each request's log entry (Kong's serializer shape) as one
 * JSON line to `path`, creating the file (and its folder) when missing. Writes are asynchronous
 * (pino's SonicBoom, the file opened once and shared by the instances writing to it, across
 * snapshots); with `reopen` the file is opened, appended to and closed for every entry, as Kong
 * does, so a rotated file is picked up at once. Every worker appends to the same file (O_APPEND);
 * a line is one write.
 */
import { appendFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { pino } from 'pino';
import { definePlugin } from '../api.js';
import { logCounters } from '../../observe/log-queue.js';
import { SinkRegistry } from '../../observe/log-sinks.js';
import { fileLogSpec } from './schema.js';

const counters = logCounters('file-log');
/** Bytes a file's write buffer may hold before new lines are dropped (a stuck disk). */
const MAX_BUFFERED = 16 * 1024 * 1024;

interface FileSink {
  write(line: string): void;
}

/** The file kept open: lines buffered and written asynchronously. */
function openSink(path: string): FileSink {
  const dest = pino.destination({
    dest: path,
    sync: false,
    mkdir: true,
    append: true,
    maxLength: MAX_BUFFERED,
  });
  dest.on('drop', () => counters.dropped++);
  dest.on('error', () => counters.dropped++);
  process.once('exit', () => {
    try {
      dest.flushSync();
    } catch {
      // nothing more can be done at exit
    }
  });
  return {
    write(line) {
      dest.write(line);
      counters.sent++;
    },
  };
}

/** The file opened for every line (reopen): lines appended one after another. */
function reopenSink(path: string): FileSink {
  let chain: Promise<void> = mkdir(dirname(path), { recursive: true }).then(
    () => undefined,
    () => undefined,
  );
  let pending = 0;
  return {
    write(line) {
      if (pending * 256 > MAX_BUFFERED) {
        counters.dropped++;
        return;
      }
      pending++;
      chain = chain.then(() =>
        appendFile(path, line).then(
          () => {
            pending--;
            counters.sent++;
          },
          () => {
            pending--;
            counters.dropped++;
          },
        ),
      );
    },
  };
}

const sinks = new SinkRegistry((key) => {
  const { path, reopen } = JSON.parse(key) as { path: string; reopen: boolean };
  return reopen ? reopenSink(path) : openSink(path);
});

export default definePlugin({
  ...fileLogSpec,
  init(config) {
    return sinks.get({ path: config.path, reopen: config.reopen });
  },
  log(ctx, sink) {
    sink.write(`${JSON.stringify(ctx.serialize())}\n`);
  },
});

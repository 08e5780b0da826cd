// Preloaded into a benchmarked process (`node --import`): on SIGUSR2 it appends one JSON line to
// $GATEHOUSE_MEMORY_PROBE_OUT with where the process's memory is — the V8 heap, V8's own malloc
// (compilers), every WebAssembly memory by its creator (PGlite, Prisma's query compiler, the schema
// engine) and the resident pages of /proc/self/smaps by kind of mapping. Reading it costs nothing
// until the signal arrives (it only wraps the WebAssembly constructors to remember the memories).
import { appendFileSync, readFileSync } from 'node:fs';
import { getHeapSpaceStatistics, getHeapStatistics } from 'node:v8';

const MiB = (bytes) => Math.round((bytes / 1048576) * 10) / 10;
/** Weak references to every WebAssembly memory, with the package that created it. */
const memories = [];
const OWNERS = [
  ['pglite', /@electric-sql\/pglite/],
  ['prisma-query-compiler', /@prisma\/client/],
  ['prisma-schema-engine', /schema-engine/],
  ['undici-llhttp', /undici/],
];
const ownerOf = (stack = '') => OWNERS.find(([, re]) => re.test(stack))?.[0] ?? 'other';
const remember = (memory, stack) => memories.push({ ref: new WeakRef(memory), owner: ownerOf(stack) });
const rememberExports = (instance, stack) => {
  for (const value of Object.values(instance?.exports ?? {}))
    if (value instanceof WebAssembly.Memory) remember(value, stack);
};
WebAssembly.Memory = new Proxy(WebAssembly.Memory, {
  construct(target, args) {
    const memory = Reflect.construct(target, args);
    remember(memory, new Error().stack);
    return memory;
  },
});
WebAssembly.Instance = new Proxy(WebAssembly.Instance, {
  construct(target, args) {
    const instance = Reflect.construct(target, args);
    rememberExports(instance, new Error().stack);
    return instance;
  },
});
const instantiate = WebAssembly.instantiate;
WebAssembly.instantiate = async function (...args) {
  const stack = new Error().stack;
  const result = await instantiate.apply(this, args);
  rememberExports(result.instance ?? result, stack);
  return result;
};

/** Resident MiB of /proc/self/smaps grouped by kind of mapping. */
function residentByKind() {
  const groups = {};
  let kind;
  for (const line of readFileSync('/proc/self/smaps', 'utf8').split('\n')) {
    const head = /^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head) {
      const size = parseInt(head[2], 16) - parseInt(head[1], 16);
      const name = head[3];
      if (name === '[heap]') kind = 'malloc main arena ([heap])';
      else if (name.startsWith('/')) kind = 'files (node binary, libraries)';
      else if (name) kind = name;
      // V8 heap pages are 256 KiB mappings; malloc's thread arenas and WebAssembly memories are larger.
      else if (size < 1 << 20) kind = 'anonymous < 1 MiB (V8 heap pages, small mmaps)';
      else if (size <= 64 << 20) kind = 'anonymous 1–64 MiB (malloc thread arenas, large objects, code)';
      else kind = 'anonymous > 64 MiB (WebAssembly memories)';
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss && kind) groups[kind] = (groups[kind] ?? 0) + Number(rss[1]) * 1024;
  }
  return Object.fromEntries(Object.entries(groups).map(([k, v]) => [k, MiB(v)]));
}

process.on('SIGUSR2', () => {
  const usage = process.memoryUsage();
  const heap = getHeapStatistics();
  const wasm = {};
  for (const { ref, owner } of memories) {
    const memory = ref.deref();
    if (memory) wasm[owner] = MiB((wasm[owner] ?? 0) * 1048576 + memory.buffer.byteLength);
  }
  const line = {
    rss: MiB(usage.rss),
    v8_heap: {
      committed: MiB(usage.heapTotal),
      used: MiB(usage.heapUsed),
      spaces: Object.fromEntries(
        getHeapSpaceStatistics()
          .filter((s) => s.space_size > 0)
          .map((s) => [s.space_name, `${MiB(s.space_used_size)} used / ${MiB(s.space_size)}`]),
      ),
    },
    v8_malloc: { now: MiB(heap.malloced_memory), peak: MiB(heap.peak_malloced_memory) },
    external: MiB(usage.external),
    array_buffers: MiB(usage.arrayBuffers),
    wasm_memory_size: wasm,
    resident_by_mapping: residentByKind(),
  };
  appendFileSync(process.env.GATEHOUSE_MEMORY_PROBE_OUT, `${JSON.stringify(line)}\n`);
});

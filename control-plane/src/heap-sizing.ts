/**
 * How V8 sizes a control plane's heap. An Admin API write allocates many short-lived objects
 * (Express, Prisma's query interpreter, the snapshot build); under a stream of writes V8 grew the
 * old generation to ~4× its live size (~200 MB committed for ~45 MB live, RSS ~400 MB after 5,000
 * writes) and gave the pages back only well after the writes stopped. `--optimize-for-size` makes V8
 * size the heap conservatively (read at each GC, so setting it at run time works): RSS stays
 * ~230 MB through the same writes. A whole-config import holds a large live heap, where the same
 * setting doubled the CPU (more full GCs), so imports run with V8's default sizing.
 * Figures: test/bench/README.md, "Where the control plane's memory is".
 */
import { setFlagsFromString } from 'node:v8';

let lean = false;
let roomy = 0;

/** Conservative heap sizing for this process from now on (the control plane sets it at start). */
export function useLeanHeap(): void {
  lean = true;
  if (roomy === 0) setFlagsFromString('--optimize-for-size');
}

/** Runs `fn` with V8's default heap sizing (a bulk import); lean again once none is running. */
export async function withRoomyHeap<T>(fn: () => Promise<T>): Promise<T> {
  if (roomy++ === 0 && lean) setFlagsFromString('--no-optimize-for-size');
  try {
    return await fn();
  } finally {
    if (--roomy === 0 && lean) setFlagsFromString('--optimize-for-size');
  }
}

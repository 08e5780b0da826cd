import { describe, expect, it } from 'vitest';
import { createPoller } from './use-poll';

/** A hand-driven clock: timers fire only when the test says so. */
function fakeDeps() {
  const timers = new Map<number, () => void>();
  let next = 1;
  const state = { hidden: false };
  return {
    state,
    timers,
    deps: {
      isHidden: () => state.hidden,
      setTimer: (fn: () => void) => {
        const id = next++;
        timers.set(id, fn);
        return id;
      },
      clearTimer: (h: unknown) => void timers.delete(h as number),
    },
    async fire() {
      const [id, fn] = [...timers.entries()][0] ?? [];
      if (id === undefined || !fn) throw new Error('no timer pending');
      timers.delete(id);
      fn();
      await new Promise((r) => setImmediate(r));
    },
  };
}

const settle = () => new Promise((r) => setImmediate(r));

describe('poller', () => {
  it('runs at start and again after each interval, one timer at a time', async () => {
    const f = fakeDeps();
    let runs = 0;
    const p = createPoller(
      async () => void runs++,
      () => 1000,
      f.deps,
    );
    p.start();
    await settle();
    expect(runs).toBe(1);
    expect(f.timers.size).toBe(1);
    await f.fire();
    expect(runs).toBe(2);
    expect(f.timers.size).toBe(1);
  });

  it('stops for good: no timer left and no more runs', async () => {
    const f = fakeDeps();
    let runs = 0;
    const p = createPoller(
      async () => void runs++,
      () => 1000,
      f.deps,
    );
    p.start();
    await settle();
    p.stop();
    expect(f.timers.size).toBe(0);
    await p.refresh();
    expect(runs).toBe(1);
  });

  it('pauses while the tab is hidden and runs at once when it shows', async () => {
    const f = fakeDeps();
    let runs = 0;
    const p = createPoller(
      async () => void runs++,
      () => 1000,
      f.deps,
    );
    p.start();
    await settle();
    f.state.hidden = true;
    p.visibilityChanged();
    expect(f.timers.size).toBe(0);
    f.state.hidden = false;
    p.visibilityChanged();
    await settle();
    expect(runs).toBe(2);
    expect(f.timers.size).toBe(1);
  });

  it('keeps polling after a failed run', async () => {
    const f = fakeDeps();
    let runs = 0;
    const p = createPoller(
      async () => {
        runs++;
        throw new Error('down');
      },
      () => 1000,
      f.deps,
    );
    p.start();
    await settle();
    await f.fire();
    expect(runs).toBe(2);
    expect(f.timers.size).toBe(1);
  });
});

/**
 * Polling for the operations screens: run `tick` now and again `intervalMs` after each run ends
 * (never two at once), stop for good when the component unmounts, pause while the tab is hidden
 * and run at once when it shows again. `createPoller` is the timing alone (tested); `usePoll`
 * wires it to the component's lifetime and the page's visibility.
 */
import { onMounted, onUnmounted } from 'vue';

export interface PollerDeps {
  isHidden(): boolean;
  setTimer(fn: () => void, ms: number): unknown;
  clearTimer(handle: unknown): void;
}

export interface Poller {
  start(): void;
  stop(): void;
  /** The tab's visibility changed. */
  visibilityChanged(): void;
  /** Run now (e.g. after a change), then keep the schedule. */
  refresh(): Promise<void>;
}

export function createPoller(tick: () => Promise<void>, intervalMs: () => number, deps: PollerDeps): Poller {
  let timer: unknown = null;
  let running: Promise<void> | null = null;
  let active = false;

  const schedule = () => {
    if (timer !== null) deps.clearTimer(timer);
    timer = null;
    if (active && !deps.isHidden()) timer = deps.setTimer(() => void run(), intervalMs());
  };
  const run = async (): Promise<void> => {
    timer = null;
    if (!active || deps.isHidden()) return;
    if (running) return running;
    running = (async () => {
      try {
        await tick();
      } catch {
        // the view shows its own errors; polling goes on
      }
    })();
    await running;
    running = null;
    schedule();
  };
  return {
    start() {
      if (active) return;
      active = true;
      void run();
    },
    stop() {
      active = false;
      if (timer !== null) deps.clearTimer(timer);
      timer = null;
    },
    visibilityChanged() {
      if (!active) return;
      if (deps.isHidden()) {
        if (timer !== null) deps.clearTimer(timer);
        timer = null;
      } else if (!running && timer === null) void run();
    },
    refresh: () => run(),
  };
}

export function usePoll(tick: () => Promise<void>, intervalMs: number | (() => number)): Poller {
  const poller = createPoller(tick, typeof intervalMs === 'number' ? () => intervalMs : intervalMs, {
    isHidden: () => document.visibilityState === 'hidden',
    setTimer: (fn, ms) => setTimeout(fn, ms),
    clearTimer: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
  });
  const onVisibility = () => poller.visibilityChanged();
  onMounted(() => {
    document.addEventListener('visibilitychange', onVisibility);
    poller.start();
  });
  onUnmounted(() => {
    document.removeEventListener('visibilitychange', onVisibility);
    poller.stop();
  });
  return poller;
}

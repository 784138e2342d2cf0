/**
 * The runtime's clock. Every delay, expiry and schedule is computed from it, so
 * tests control time: a `ManualClock` moves only when told and wakes whoever waits
 * on it. Machines never read a clock; the runtime stamps events instead.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /**
   * Calls `fn` once `ms` milliseconds have passed on this clock. The system clock
   * uses a real timer; a manual clock calls it when advanced past the deadline.
   * Returns a cancel function.
   */
  setTimeout(fn: () => void, ms: number): () => void;
}

/** The wall clock. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout(fn, ms) {
    // Node's timers hold at most 2^31-1 ms; a longer wait wakes early and re-arms.
    const t = setTimeout(fn, Math.min(Math.max(0, ms), 2 ** 31 - 1));
    t.unref();
    return () => clearTimeout(t);
  },
};

/**
 * A clock that moves only when `advance` or `set` is called.
 * @example
 * const clock = new ManualClock(Date.parse('2026-01-05T09:00:00Z'));
 * clock.advance(30 * 60_000); // fires everything due in the next 30 minutes
 */
export class ManualClock implements Clock {
  private waiters: { at: number; fn: () => void }[] = [];

  constructor(private current: number = Date.parse('2026-01-05T09:00:00Z')) {}

  now(): number {
    return this.current;
  }

  setTimeout(fn: () => void, ms: number): () => void {
    const w = { at: this.current + Math.max(0, ms), fn };
    if (ms <= 0) {
      // Already due: like a real timer, it runs soon, without waiting for the next advance.
      let cancelled = false;
      queueMicrotask(() => {
        if (!cancelled) fn();
      });
      return () => {
        cancelled = true;
      };
    }
    this.waiters.push(w);
    return () => {
      this.waiters = this.waiters.filter((x) => x !== w);
    };
  }

  /** Moves time forward by `ms` and runs every waiter now due. */
  advance(ms: number): void {
    this.set(this.current + ms);
  }

  /** Sets the time (never backwards) and runs every waiter now due. */
  set(epochMs: number): void {
    if (epochMs < this.current) throw new Error('a ManualClock never goes backwards');
    this.current = epochMs;
    const due = this.waiters.filter((w) => w.at <= epochMs).sort((a, b) => a.at - b.at);
    this.waiters = this.waiters.filter((w) => w.at > epochMs);
    for (const w of due) w.fn();
  }
}

/**
 * Parses `CADRE_CLOCK`: unset or `system` gives the wall clock; `manual:<ISO time>`
 * a manual clock starting there (used by tests that run the runtime in a child
 * process). A bad value is an error naming the variable.
 */
export function clockFromEnv(value: string | undefined): Clock {
  if (!value || value === 'system') return systemClock;
  const m = /^manual:(.+)$/.exec(value);
  const at = m ? Date.parse(m[1]!) : NaN;
  if (Number.isNaN(at)) throw new Error(`CADRE_CLOCK="${value}" is not "system" or "manual:<ISO time>"`);
  return new ManualClock(at);
}

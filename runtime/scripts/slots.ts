/**
 * A counting semaphore with a bounded, first-come queue and a wait limit. Script
 * jobs take a slot before they are handed to the script runner, so no job ever
 * waits inside the runner's own queue: once a job is `running`, a sandbox process
 * is free for it, which is what bounds its deadline (docs/sandbox.md).
 */

/** What `acquire` got: a slot, or why not. */
export type SlotOutcome = 'acquired' | 'full' | 'timeout';

interface Waiter {
  grant(): void;
  timer: NodeJS.Timeout;
}

/** `size` slots, at most `maxWaiting` callers waiting. */
export class Slots {
  private free: number;
  private readonly waiting: Waiter[] = [];

  constructor(
    size: number,
    private readonly maxWaiting: number,
  ) {
    this.free = size;
  }

  /** Callers waiting for a slot. */
  get queued(): number {
    return this.waiting.length;
  }

  /** Takes a slot, waiting at most `timeoutMs`; `full` at once when the queue is full. */
  acquire(timeoutMs: number): Promise<SlotOutcome> {
    if (this.free > 0 && this.waiting.length === 0) {
      this.free -= 1;
      return Promise.resolve('acquired');
    }
    if (this.waiting.length >= this.maxWaiting) return Promise.resolve('full');
    return new Promise((resolve) => {
      const waiter: Waiter = {
        grant: () => {
          clearTimeout(waiter.timer);
          resolve('acquired');
        },
        timer: setTimeout(() => {
          const i = this.waiting.indexOf(waiter);
          if (i >= 0) this.waiting.splice(i, 1);
          resolve('timeout');
        }, timeoutMs),
      };
      this.waiting.push(waiter);
    });
  }

  /** Gives a slot back, to the longest waiter if any. */
  release(): void {
    const next = this.waiting.shift();
    if (next) next.grant();
    else this.free += 1;
  }
}

/**
 * A FIFO async mutex: a promise chain. Each `run` waits for the call queued before it,
 * so work runs one at a time, in the order it was queued. Used to give PGlite's single
 * session to one caller at a time.
 */
export class Mutex {
  #tail: Promise<void> = Promise.resolve();
  #queued = 0;

  /** Runs `fn` once every call queued before it has settled; resolves or rejects with `fn`'s outcome. */
  run<T>(fn: () => Promise<T>): Promise<T> {
    const previous = this.#tail;
    const contended = this.#queued > 0;
    this.#queued += 1;
    let release!: () => void;
    // The tail never rejects, so one failing caller does not poison the queue.
    this.#tail = new Promise<void>((resolve) => {
      release = resolve;
    });
    // PGlite runs synchronously inside WebAssembly; handing the lock straight to the next
    // waiter would chain every queued statement in microtasks and starve sockets and
    // timers until the queue is empty. On a handoff we let the event loop turn first.
    const start = contended ? previous.then(yieldToEventLoop) : previous;
    return start.then(fn).finally(() => {
      this.#queued -= 1;
      release();
    });
  }

  /** Number of calls queued or running. */
  get size(): number {
    return this.#queued;
  }
}

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

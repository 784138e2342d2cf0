import type { Bus } from '../bus/index.ts';

/** Sends one event to an actor through the bus and resolves when its commit reply arrives. */
export type SendFn = (key: string, n: number) => Promise<void>;

/**
 * A client of the runtime speaking the bus directly, as an external producer
 * would: durable publish to the actor's mailbox with a reply subject, then wait
 * for the reply that the runtime sends after the commit.
 */
export function busClient(
  bus: Bus,
  mailbox: (key: string) => string,
  tenant: string,
  kind: string,
  /** `ack`: each publish waits for the bus to store it (JetStream's publish ack). `core`: fire into the stream and let the commit reply be the only acknowledgement (a client that times out sends again with the same id). */
  publish: 'ack' | 'core' = 'ack',
): { send: SendFn; close(): void } {
  const prefix = bus.inbox();
  const waiting = new Map<string, { resolve: () => void; reject: (e: Error) => void }>();
  const sub = bus.subscribe(`${prefix}.*`, (subject, data) => {
    const w = waiting.get(subject);
    if (!w) return;
    waiting.delete(subject);
    const reply = JSON.parse(new TextDecoder().decode(data)) as { ok: boolean; reason?: string };
    if (reply.ok) w.resolve();
    else w.reject(new Error(reply.reason));
  });
  let seq = 0;
  const enc = new TextEncoder();
  const run = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  return {
    send(key, n) {
      const id = `b-${run}-${++seq}`;
      const replyTo = `${prefix}.${seq}`;
      const msg = { id, tenant, to: { kind, key }, event: { type: 'bump', n }, correlationId: id, causationId: null, from: 'external:bench', sentAt: new Date().toISOString(), replyTo };
      return new Promise<void>((resolve, reject) => {
        waiting.set(replyTo, { resolve, reject });
        const data = enc.encode(JSON.stringify(msg));
        if (publish === 'core') bus.notify(mailbox(key), data);
        else bus.publish(mailbox(key), data, { msgId: id }).catch(reject);
      });
    },
    close: () => sub.unsubscribe(),
  };
}

/** Closed loop: `inflight` clients, each sending its next event once the last one committed. */
export async function closedLoop(send: SendFn, opts: { actors: number; events: number; inflight: number; keyPrefix: string }) {
  const latencies: number[] = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: opts.inflight }, async () => {
      for (let i = next++; i < opts.events; i = next++) {
        const s = performance.now();
        await send(`${opts.keyPrefix}${i % opts.actors}`, i);
        latencies.push(performance.now() - s);
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  return { perSecond: opts.events / seconds, seconds, ...percentiles(latencies) };
}

/**
 * Open loop at a fixed offered rate: events are due on a schedule whatever the
 * replies do, and latency counts from when each was due (no coordinated omission).
 */
export async function openLoop(send: SendFn, opts: { actors: number; rate: number; seconds: number; keyPrefix: string }) {
  const total = Math.floor(opts.rate * opts.seconds);
  const latencies: number[] = [];
  const t0 = performance.now();
  const pending: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const due = t0 + (i * 1000) / opts.rate;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    pending.push(send(`${opts.keyPrefix}${i % opts.actors}`, i).then(() => void latencies.push(performance.now() - due)));
  }
  await Promise.all(pending);
  return { rate: opts.rate, sent: total, ...percentiles(latencies) };
}

/** p50, p99 and max in milliseconds. */
export function percentiles(xs: number[]): { p50: number; p99: number; max: number } {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN;
  return { p50: at(0.5), p99: at(0.99), max: s[s.length - 1] ?? NaN };
}

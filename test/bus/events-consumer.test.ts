import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryBus, NatsBus, Subjects, type Bus, type Delivery } from '../../bus/index.ts';
import { NATS_URL, eventually } from '../support/runtime.ts';

// The durable events consumer the agents' router reads (Bus.consumeEvents): shared by
// every process that opens the same name, redelivering until acknowledged.

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (d: Uint8Array) => new TextDecoder().decode(d);

const makers = [
  {
    name: 'in-process',
    make: (subjects: Subjects) => {
      const bus = new MemoryBus(subjects);
      return { a: bus as Bus, b: bus as Bus, stop: () => bus.stop() };
    },
  },
  {
    name: 'NATS JetStream',
    make: (subjects: Subjects, id = randomBytes(4).toString('hex')) => {
      const opts = { servers: NATS_URL, streamPrefix: `EC${id}`, dedupeWindowMs: 60_000, ackWaitMs: 30_000, maxAckPending: 100, eventsMaxAgeMs: 60_000 };
      const a = new NatsBus(subjects, opts);
      const b = new NatsBus(subjects, opts);
      return {
        a: a as Bus,
        b: b as Bus,
        stop: async () => {
          await a.destroyStreams();
          await a.stop();
          await b.stop();
        },
      };
    },
  },
] as const;

describe.each(makers)('the shared events consumer ($name)', ({ make }) => {
  let stop: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await stop?.();
    stop = undefined;
  });

  it('gives each event to one of the consumers of a name, redelivers a nak, and starts with events published after it was made', async () => {
    const subjects = new Subjects(`ec${randomBytes(3).toString('hex')}`, 4);
    const { a, b, stop: s } = make(subjects);
    stop = s;
    await a.start();
    await b.start();
    await a.publish(subjects.event('acme', 'deal', 'closed'), enc('before'), { msgId: 'e-0' });
    const got: { by: string; body: string; count: number }[] = [];
    const handler = (by: string) => (m: Delivery) => {
      const body = dec(m.data);
      got.push({ by, body, count: m.deliveryCount });
      if (body === 'nak-once' && m.deliveryCount === 1) m.nak(50);
      else m.ack();
    };
    const ca = await a.consumeEvents('ROUTER', handler('a'));
    const cb = await b.consumeEvents('ROUTER', handler('b'));
    for (let i = 1; i <= 20; i++) await a.publish(subjects.event('acme', 'deal', 'closed'), enc(`e-${i}`), { msgId: `e-${i}` });
    await a.publish(subjects.event('acme', 'deal', 'closed'), enc('nak-once'), { msgId: 'e-nak' });
    // Not an event: a mailbox message never reaches the consumer.
    await a.publish(subjects.mailbox({ tenant: 'acme', kind: 'deal', key: 'D-1' }), enc('mail'), { msgId: 'm-1' });
    await eventually(async () => (got.filter((g) => g.body === 'nak-once').length === 2 ? true : undefined));
    await new Promise((r) => setTimeout(r, 200));
    const bodies = got.filter((g) => g.count === 1).map((g) => g.body);
    expect(bodies.sort()).toEqual([...Array.from({ length: 20 }, (_, i) => `e-${i + 1}`), 'nak-once'].sort());
    expect(got.find((g) => g.body === 'nak-once' && g.count === 2)).toBeDefined();
    expect(got.map((g) => g.body)).not.toContain('before');
    expect(got.map((g) => g.body)).not.toContain('mail');
    await ca.stop();
    await cb.stop();
  });
});

import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryBus, NatsBus, Subjects, subjectMatches, partitionOf, parseAddress, decode, ActorMessage, type Bus, type Delivery } from '../../bus/index.ts';
import { NATS_URL } from '../support/runtime.ts';

describe('subjects', () => {
  it('match like NATS: * is one token, > one or more trailing tokens', () => {
    expect(subjectMatches('cadre.*.events.>', 'cadre.acme.events.deal.closed')).toBe(true);
    expect(subjectMatches('cadre.*.events.>', 'cadre.acme.events')).toBe(false);
    expect(subjectMatches('cadre.acme.events.deal.*', 'cadre.acme.events.deal.closed')).toBe(true);
    expect(subjectMatches('cadre.acme.events.deal.*', 'cadre.acme.events.deal.closed.x')).toBe(false);
    expect(subjectMatches('cadre.acme.x', 'cadre.acme.x')).toBe(true);
    expect(subjectMatches('cadre.acme.x', 'cadre.acme')).toBe(false);
  });

  it('name mailboxes by partition and parse them back', () => {
    const s = new Subjects('cadre', 16);
    const a = parseAddress('acme/deal/D-1042');
    const subject = s.mailbox(a);
    expect(subject).toBe(`cadre.acme.mailbox.${partitionOf(a, 16)}.deal.D-1042`);
    expect(s.parseMailbox(subject)).toEqual({ tenant: 'acme', partition: partitionOf(a, 16), kind: 'deal', key: 'D-1042' });
    expect(s.parseMailbox('cadre.acme.events.deal.closed')).toBeUndefined();
    expect(s.event('acme', 'deal', 'closed')).toBe('cadre.acme.events.deal.closed');
  });

  it('spread actors over partitions and refuse addresses that would break subjects', () => {
    const counts = new Array(16).fill(0);
    for (let i = 0; i < 16_000; i++) counts[partitionOf({ tenant: 'acme', kind: 'deal', key: `D-${i}` }, 16)]++;
    for (const c of counts) expect(c).toBeGreaterThan(800);
    expect(() => parseAddress('acme/deal/D.1')).toThrow();
    expect(() => parseAddress('acme/deal/*')).toThrow();
    expect(() => parseAddress('acme/deal')).toThrow();
    expect(() => parseAddress('acme/deal/x/y')).toThrow(/more than three parts/);
  });

  it('decode refuses what the store could not hold, with reasons', () => {
    const enc = new TextEncoder();
    expect(decode(ActorMessage, enc.encode('x'.repeat(20)), 10)).toMatchObject({ ok: false, code: 'message_too_large' });
    expect(decode(ActorMessage, enc.encode('{"a":"\\u0000"}'), 1000)).toMatchObject({ ok: false, code: 'contains_nul' });
    expect(decode(ActorMessage, new Uint8Array([0xc3, 0x28]), 1000)).toMatchObject({ ok: false, code: 'not_utf8' });
    expect(decode(ActorMessage, enc.encode('{}'), 1000)).toMatchObject({ ok: false, code: 'invalid_message' });
  });
});

/** The same contract, checked on both adapters. */
function contract(name: string, make: () => Promise<{ bus: Bus; subjects: Subjects; cleanup(): Promise<void> }>) {
  describe(`${name} bus`, () => {
    let bus: Bus;
    let subjects: Subjects;
    let cleanup: () => Promise<void>;
    beforeAll(async () => {
      ({ bus, subjects, cleanup } = await make());
      await bus.start();
    });
    afterAll(async () => cleanup());

    const a = { tenant: 'acme', kind: 'deal', key: 'D-1' };
    const enc = new TextEncoder();

    it('delivers a partition in publish order, drops a repeated msgId, and redelivers what was not acked to the next consumer', async () => {
      const p = partitionOf(a, subjects.partitions);
      for (let i = 0; i < 20; i++) await bus.publish(subjects.mailbox(a), enc.encode(String(i)), { msgId: `m-${i}` });
      await bus.publish(subjects.mailbox(a), enc.encode('dup'), { msgId: 'm-3' });
      const got: Delivery[] = [];
      const c1 = await bus.consumePartition(p, (d) => got.push(d));
      await waitUntil(() => got.length === 20);
      expect(got.map((d) => new TextDecoder().decode(d.data))).toEqual(Array.from({ length: 20 }, (_, i) => String(i)));
      got.slice(0, 10).forEach((d) => d.ack());
      await new Promise((r) => setTimeout(r, 200));
      await c1.stop();
      const again: Delivery[] = [];
      const c2 = await bus.consumePartition(p, (d) => again.push(d));
      await waitUntil(() => again.length === 10);
      expect(again.map((d) => new TextDecoder().decode(d.data))).toEqual(Array.from({ length: 10 }, (_, i) => String(i + 10)));
      again.forEach((d) => d.ack());
      await c2.stop();
    });

    it('fans out notifications to wildcard subscribers', async () => {
      const seen: string[] = [];
      const sub = bus.subscribe(`${subjects.prefix}.acme.events.deal.*`, (s) => seen.push(s));
      bus.notify(`${subjects.prefix}.acme.events.deal.closed`, enc.encode('{}'));
      bus.notify(`${subjects.prefix}.acme.events.order.closed`, enc.encode('{}'));
      await waitUntil(() => seen.length >= 1);
      await new Promise((r) => setTimeout(r, 50));
      sub.unsubscribe();
      expect(seen).toEqual([`${subjects.prefix}.acme.events.deal.closed`]);
    });

    it('answers ping', async () => {
      expect(await bus.ping()).toMatchObject({ ok: true });
    });
  });
}

contract('in-process', async () => {
  const subjects = new Subjects('mem', 4);
  return { bus: new MemoryBus(subjects), subjects, cleanup: async () => {} };
});

contract('NATS JetStream', async () => {
  const id = randomBytes(4).toString('hex');
  const subjects = new Subjects(`bt${id}`, 4);
  const bus = new NatsBus(subjects, { servers: NATS_URL, streamPrefix: `BT${id}`, dedupeWindowMs: 60_000, ackWaitMs: 30_000, maxAckPending: 100, eventsMaxAgeMs: 60_000 });
  return {
    bus,
    subjects,
    cleanup: async () => {
      await bus.destroyStreams();
      await bus.stop();
    },
  };
});

async function waitUntil(ok: () => boolean, ms = 5000) {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

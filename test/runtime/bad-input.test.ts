import { describe, expect, it } from 'vitest';
import { runtimeBackends, eventually, useEnv } from '../support/runtime.ts';

const enc = new TextEncoder();

describe.each(runtimeBackends)('bad input on $name', ({ make }) => {
  const env = useEnv(make);

  it('applies every good message and dead-letters every bad one with its reason; the actor keeps its last good state', async () => {
    const rt = await env.start();
    const subj = (key: string, tenant = 'acme') => rt.subjects.mailbox({ tenant, kind: 'counter', key });
    const msg = (key: string, i: number, extra: Record<string, unknown> = {}) => ({
      id: `good-${key}-${i}`, tenant: 'acme', to: { kind: 'counter', key }, event: { type: 'add', i },
      correlationId: 'c', causationId: null, from: 'external:test', sentAt: new Date().toISOString(), ...extra,
    });
    const bad: { name: string; subject: string; data: Uint8Array; code: string }[] = [
      { name: 'not JSON', subject: subj('B-1'), data: enc.encode('{"id": "x", oops'), code: 'not_json' },
      { name: 'not UTF-8', subject: subj('B-1'), data: new Uint8Array([0xff, 0xfe, 0x00, 0x41]), code: 'not_utf8' },
      { name: 'NUL in a string', subject: subj('B-1'), data: enc.encode(JSON.stringify(msg('B-1', 1, { id: 'nul', from: 'a\u0000b' }))), code: 'contains_nul' },
      { name: 'missing fields', subject: subj('B-1'), data: enc.encode(JSON.stringify({ id: 'nofields', event: { type: 'add' } })), code: 'invalid_message' },
      { name: 'oversized', subject: subj('B-1'), data: enc.encode(JSON.stringify(msg('B-1', 1, { id: 'huge', event: { type: 'add', i: 1, pad: 'x'.repeat(300_000) } }))), code: 'message_too_large' },
      { name: 'unknown event type', subject: subj('B-1'), data: enc.encode(JSON.stringify(msg('B-1', 1, { id: 'unknown-type', event: { type: 'teleport' } }))), code: 'invalid_event' },
      { name: 'bad payload', subject: subj('B-1'), data: enc.encode(JSON.stringify(msg('B-1', 1, { id: 'bad-payload', event: { type: 'add', i: 'one' } }))), code: 'invalid_event' },
      { name: 'wrong tenant', subject: subj('B-1', 'globex'), data: enc.encode(JSON.stringify(msg('B-1', 1, { id: 'wrong-tenant' }))), code: 'wrong_tenant' },
      { name: 'wrong address', subject: subj('B-9'), data: enc.encode(JSON.stringify(msg('B-1', 1, { id: 'wrong-address' }))), code: 'wrong_address' },
      { name: 'unknown kind', subject: rt.subjects.mailbox({ tenant: 'acme', kind: 'spaceship', key: 'S-1' }), data: enc.encode(JSON.stringify({ ...msg('S-1', 1, { id: 'unknown-kind' }), to: { kind: 'spaceship', key: 'S-1' } })), code: 'unknown_kind' },
      { name: 'machine throws', subject: subj('B-1'), data: enc.encode(JSON.stringify(msg('B-1', 1, { id: 'boom', event: { type: 'boom' } }))), code: 'machine_error' },
      { name: 'runtime event forged', subject: subj('B-1'), data: enc.encode(JSON.stringify(msg('B-1', 1, { id: 'forged', event: { type: 'cadre.timer.fire' } }))), code: 'invalid_runtime_event' },
    ];
    const goods: number[] = [];
    let n = 0;
    for (let round = 0; round < 3; round++) {
      for (const b of bad) {
        n++;
        goods.push(n);
        await rt.bus.publish(subj('B-1'), enc.encode(JSON.stringify(msg('B-1', n))), { msgId: `good-${n}` });
        await rt.bus.publish(b.subject, b.data, { msgId: `bad-${round}-${b.name}` });
      }
    }
    await eventually(async () => ((await rt.operator.actor({ tenant: 'acme', kind: 'counter', key: 'B-1' }))?.context as { count: number })?.count === n, 15_000, 'all good messages');
    await rt.settle();

    const actor = await rt.operator.actor({ tenant: 'acme', kind: 'counter', key: 'B-1' });
    expect(actor!.context).toMatchObject({ count: n, outOfOrder: 0 });
    const types = await rt.db.query(`SELECT seq, message_id, event_type FROM journal WHERE key = 'B-1' AND event_type <> 'add'`);
    expect(types).toEqual([]);
    expect(actor).toMatchObject({ seq: n, machine_status: 'active' });

    const dead = await rt.db.query<{ code: string; reason: string; tenant: string; subject: string }>(`SELECT code, reason, tenant, subject FROM dead_letters ORDER BY id`);
    // Messages with an id are dead-lettered once however often they come; anonymous garbage once per delivery.
    const byCode = new Map<string, number>();
    for (const d of dead) byCode.set(d.code, (byCode.get(d.code) ?? 0) + 1);
    for (const b of bad) expect(byCode.get(b.code), b.name).toBeGreaterThanOrEqual(1);
    for (const d of dead) expect(d.reason.length, d.code).toBeGreaterThan(10);
    expect(dead.find((d) => d.code === 'wrong_tenant')!.tenant).toBe('globex');
    expect(dead.find((d) => d.code === 'machine_error')!.reason).toContain('exploded on purpose');
    expect(dead.find((d) => d.code === 'message_too_large')!.reason).toMatch(/bytes; the limit is 262144/);
    // the listing an operator reads
    const listed = await rt.operator.deadLetters('acme', { status: 'open' });
    expect(listed.length).toBeGreaterThan(5);
    // a message filed under the subject's tenant cannot be replayed into another tenant's actor
    const [foreign] = await rt.operator.deadLetters('globex', { status: 'open' });
    await expect(rt.operator.replay('globex', Number(foreign!.id), 'eve')).rejects.toMatchObject({ code: 'not_replayable' });
  });

  it('an actor whose snapshot cannot be restored dead-letters its messages and blocks no other actor', async () => {
    let rt = await env.start();
    await rt.send.send({ tenant: 'acme', kind: 'counter', key: 'X-1' }, { type: 'add', i: 1 }, { wait: true });
    await rt.stop();
    rt = await env.start();
    // As a machine change that no longer has the state a snapshot names would leave it:
    await rt.db.query(`UPDATE actors SET snapshot = jsonb_set(snapshot, '{value}', '"vanished"') WHERE key = 'X-1'`);
    const sends = [
      rt.send.send({ tenant: 'acme', kind: 'counter', key: 'X-1' }, { type: 'add', i: 2 }, { wait: true }),
      rt.send.send({ tenant: 'acme', kind: 'counter', key: 'X-2' }, { type: 'add', i: 1 }, { wait: true }),
    ];
    const [broken, fine] = await Promise.all(sends);
    expect(broken).toMatchObject({ ok: false, code: 'processing_failed' });
    expect(fine).toMatchObject({ ok: true, seq: 1 });
    const [dl] = await rt.operator.deadLetters('acme', { key: 'X-1' });
    expect(dl!.reason).toContain('vanished');
  });

  it('replays a dead letter after the cause is fixed, once', async () => {
    const rt = await env.start();
    const a = { tenant: 'acme', kind: 'deal', key: 'D-9' };
    // refused: the deal does not exist yet, so qualify is not accepted in state "new"
    expect(await rt.send.send(a, { type: 'deal.qualify' }, { wait: true })).toMatchObject({ ok: false, code: 'event_not_accepted' });
    await rt.send.send(a, { type: 'deal.create', title: 'Windows' }, { wait: true });
    const [dl] = await rt.operator.deadLetters('acme', { kind: 'deal', key: 'D-9' });
    const { messageId } = await rt.operator.replay('acme', Number(dl!.id), 'ana');
    await eventually(async () => (await rt.operator.actor(a))?.state === 'open.stage.qualified|followUp.idle', 10_000, 'replayed qualify');
    await expect(rt.operator.replay('acme', Number(dl!.id), 'ana')).rejects.toMatchObject({ code: 'conflict' });
    const [again] = await rt.operator.deadLetters('acme', { kind: 'deal', key: 'D-9' });
    expect(again).toMatchObject({ status: 'replayed', resolved_by: 'ana' });
    const history = await rt.operator.history(a);
    expect(history.map((h) => h.message_id)).toContain(messageId);
    await expect(rt.operator.replay('globex', Number(dl!.id), 'eve')).rejects.toMatchObject({ code: 'not_found' });
  });
});

import { describe, expect, it } from 'vitest';
import { dealEntity } from '../../machines/index.ts';
import { Kind } from '../../runtime/host/kind.ts';

const kind = new Kind(dealEntity);
const at = '2026-01-05T09:00:00.000Z';

/** Applies events purely, restoring from the persisted JSON before each one (the rehydration round trip). */
function walk(events: { type: string; [k: string]: unknown }[]) {
  let { snapshot, actions } = kind.initial({ tenant: 'acme', key: 'D-1' });
  const all = [...actions];
  for (const e of events) {
    const restored = kind.restore(JSON.parse(JSON.stringify(kind.persist(snapshot))));
    expect(restored.value).toEqual(snapshot.value);
    expect(restored.context).toEqual(snapshot.context);
    const step = kind.transition(restored, { ...dealEntity.events.parse(e), at } as never);
    snapshot = step.snapshot;
    all.push(...step.actions);
  }
  return { snapshot, actions: all };
}

const published = (actions: { type: string; params: unknown }[]) =>
  actions.filter((a) => a.type === 'cadre.publish').map((a) => (a.params as { name: string }).name);

describe('deal machine (pure, with a persist/restore round trip before every event)', () => {
  it('may skip stages forward, never back', () => {
    const { snapshot } = walk([{ type: 'deal.create', title: 'Roof' }, { type: 'deal.negotiate' }]);
    expect(snapshot.value).toEqual({ open: 'negotiation' });
    expect(snapshot.can({ type: 'deal.qualify', at } as never)).toBe(false);
  });

  it('publishes created, stage_changed and closed with value and contact on the way to won', () => {
    const { snapshot, actions } = walk([
      { type: 'deal.create', title: 'Roof', value: 5000, contact: 'ana@client.example' },
      { type: 'deal.qualify' },
      { type: 'deal.propose' },
      { type: 'deal.win' },
    ]);
    expect(snapshot.value).toBe('won');
    expect(snapshot.status).toBe('done');
    expect(published(actions)).toEqual(['created', 'stage_changed', 'stage_changed', 'closed']);
    const closed = actions.find((a) => a.type === 'cadre.publish' && (a.params as { name: string }).name === 'closed');
    expect(closed!.params).toMatchObject({ data: { dealId: 'D-1', value: 5000, contact: 'ana@client.example' } });
  });

  it('arms a stall timer per stage and cancels it when the stage is left', () => {
    const { actions } = walk([{ type: 'deal.create', title: 'Roof', stallAfterDays: 3 }, { type: 'deal.qualify' }]);
    const raises = actions.filter((a) => a.type === 'xstate.raise').map((a) => a.params as { id: string; delay: number });
    expect(raises).toEqual([
      expect.objectContaining({ id: 'xstate.after.stall.deal.open.lead', delay: 3 * 86_400_000 }),
      expect.objectContaining({ id: 'xstate.after.stall.deal.open.qualified', delay: 3 * 86_400_000 }),
    ]);
    expect(actions.filter((a) => a.type === 'xstate.cancel').map((a) => (a.params as { sendId: string }).sendId)).toEqual(['xstate.after.stall.deal.open.lead']);
  });

  it('an update changes the fields and counts as movement', () => {
    const { snapshot } = walk([
      { type: 'deal.create', title: 'Roof', value: 100 },
      { type: 'deal.update', value: 250, expectedCloseDate: '2026-02-01' },
    ]);
    expect(snapshot.context).toMatchObject({ value: 250, expectedCloseDate: '2026-02-01', lastMovedAt: at, title: 'Roof' });
  });

  it('the events schema refuses what the machine must never see', () => {
    expect(dealEntity.events.safeParse({ type: 'deal.lose' }).success).toBe(false);
    expect(dealEntity.events.safeParse({ type: 'deal.create', title: '' }).success).toBe(false);
    expect(dealEntity.events.safeParse({ type: 'deal.create', title: 'x', value: -1 }).success).toBe(false);
    expect(dealEntity.events.safeParse({ type: 'deal.update', expectedCloseDate: 'tomorrow' }).success).toBe(false);
  });
});

/**
 * The gate's commands as operators run them, against PostgreSQL + NATS with a
 * `cadre start` node running beside them: the approval queue, levels, the kill
 * switch, suppressions, the audit log.
 */
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { createTestDatabase, openTestPglite } from '../support/db.ts';
import { NATS_URL, deleteStreams } from '../support/runtime.ts';
import { SLOW, cadre, json, ok, startNode } from '../support/cli.ts';

const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
});


const ORDER = {
  type: 'order.receive',
  clientId: 'C-7',
  paymentMethod: 'bill',
  productCode: 'APPR-1004',
  fee: 450,
  techFee: 25,
  total: 450, // should be 475: a safe autofix
  propertyAddress: '12 Elm St, Springfield',
  borrower: { name: 'Ana Ruiz', email: 'ana@home.example' },
  propertyContact: { name: 'Bo Lane', phone: '555-0100' },
  catalogue: { productCode: 'APPR-1004', fee: 450, techFee: 25, inspection: true },
  client: { id: 'C-7', active: true, creditLimit: 10_000, outstandingBalance: 2_000 },
};

async function until<T>(what: string, fn: () => Promise<T | undefined | false>): Promise<T> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('cadre gate commands', () => {
  it('embedded: an approval decided from the CLI while no node runs is applied by the next `cadre start`, and its effect runs once', async () => {
    const opened = await openTestPglite();
    await opened.db.close();
    cleanups.push(() => rm(opened.dataDir!, { recursive: true, force: true }));
    const env = { CADRE_DATA_DIR: opened.dataDir! };
    // The CLI's own node applies the order but leaves its gated autofix to `cadre start`.
    await ok(env, 'send', 'acme/order/O-1', JSON.stringify(ORDER), '--wait');
    expect(await json(env, 'approvals', 'list', '--tenant', 'acme')).toEqual([]);
    let node = await startNode(env);
    await node.stop();
    const [pending] = await json<{ id: string }[]>(env, 'approvals', 'list', '--tenant', 'acme');
    expect(pending).toBeDefined();
    expect(await ok(env, 'approvals', 'approve', pending!.id, '--tenant', 'acme', '--by', 'ana')).toContain('approved by ana');
    // The approved event waited in the outbox; the next node publishes it and runs the autofix.
    // The data directory is locked while a node runs, so look between runs.
    type Shown = { state: string; context: { gates: Record<string, { status: string }> } };
    let order: Shown | undefined;
    for (let i = 0; i < 10 && order?.state !== 'accepted'; i++) {
      node = await startNode(env);
      await new Promise((r) => setTimeout(r, 1000));
      await node.stop();
      order = await json<Shown>(env, 'actor', 'show', 'acme/order/O-1');
    }
    expect(order!.context.gates.autofix!.status).toBe('done');
    expect(order!.state).toBe('accepted');
    const audit = await json<{ entry: string; outcome: string }[]>(env, 'audit', '--tenant', 'acme', '--actor', 'order/O-1');
    expect(audit.filter((a) => a.entry === 'execution').map((a) => a.outcome)).toEqual(['executed']);
  }, SLOW);

  it('approvals list/show/approve, autonomy set/show, pause/resume, suppress, audit and proposals', async () => {
    const id = randomBytes(4).toString('hex');
    const db = await createTestDatabase('cadre_cli_gate');
    cleanups.push(() => db.drop());
    cleanups.push(() => deleteStreams(`G${id}`));
    const env = { DATABASE_URL: db.url, NATS_URL, CADRE_SUBJECT_PREFIX: `g${id}`, CADRE_STREAM_PREFIX: `G${id}` };
    const node = await startNode({ ...env, CADRE_NODE_ID: `node-${id}` });
    try {
      // Supervised by default: the order's autofix waits for a person.
      await ok(env, 'send', 'acme/order/O-1', JSON.stringify(ORDER), '--wait');
      const [pending] = await until('an approval', async () => {
        const rows = await json<{ id: string }[]>(env, 'approvals', 'list', '--tenant', 'acme');
        return rows.length ? rows : undefined;
      });
      const shown = await ok(env, 'approvals', 'show', pending!.id, '--tenant', 'acme');
      expect(shown).toMatch(/status\s+pending/);
      expect(shown).toMatch(/action\s+order\.autofix/);
      expect(shown).toMatch(/risk\s+medium/);
      const approved = await cadre(env, 'approvals', 'approve', pending!.id, 'apr_nope', '--tenant', 'acme', '--by', 'ana', '--note', 'fine');
      expect(approved.code).toBe(1); // one of the two could not be approved
      expect(approved.stdout).toContain(`${pending!.id}: approved by ana (order/O-1, order.autofix)`);
      expect(approved.stdout).toContain('apr_nope: not approved: no approval apr_nope in tenant acme');
      expect(approved.stderr).toContain('error: 1 of 2 could not be approved (see above)');
      const again = await cadre(env, 'approvals', 'approve', pending!.id, '--tenant', 'acme', '--by', 'ana');
      expect(again.code).toBe(1);
      expect(again.stdout).toContain(`${pending!.id}: not approved: approval ${pending!.id} was already approved by ana`);
      await until('the order accepted', async () => {
        const a = await json<{ state: string }>(env, 'actor', 'show', 'acme/order/O-1');
        return a.state === 'accepted' ? a : undefined;
      });

      // Levels, the kill switch and suppressions are settings any operator can read back.
      expect(await ok(env, 'autonomy', 'set', 'autonomous', '--tenant', 'acme', '--action', 'order.autofix', '--by', 'ana')).toContain(
        'acme: agent *, action order.autofix is now autonomous (by ana)',
      );
      expect(await ok(env, 'pause', '--tenant', 'acme', '--reason', 'audit week', '--by', 'ana')).toContain('tenant acme: kill switch ON');
      expect(await ok(env, 'suppress', 'add', 'Ana@Home.example', '--tenant', 'acme', '--kind', 'opt_out')).toContain('suppressed (opt_out)');
      const settings = await json<{ levels: unknown[]; switches: { scope: string; paused: boolean; reason: string }[] }>(env, 'autonomy', 'show', '--tenant', 'acme');
      expect(settings.levels).toEqual([expect.objectContaining({ agent: '*', action_type: 'order.autofix', level: 'autonomous', set_by: 'ana' })]);
      expect(settings.switches).toEqual([expect.objectContaining({ scope: 'acme', paused: true, reason: 'audit week' })]);

      // With the kill switch on, the next autofix is blocked and audited.
      await ok(env, 'send', 'acme/order/O-2', JSON.stringify(ORDER), '--wait');
      await until('a blocked decision', async () => {
        const rows = await json<{ outcome: string; policy: string; key: string }[]>(env, 'audit', '--tenant', 'acme', '--actor', 'order/O-2');
        return rows.find((r) => r.outcome === 'blocked' && r.policy === 'kill_switch');
      });
      expect(await ok(env, 'resume', '--tenant', 'acme')).toContain('kill switch off: what was blocked stays blocked until asked again');
      const audit = await json<{ entry: string; outcome: string; decided_by: string; key: string }[]>(env, 'audit', '--tenant', 'acme', '--actor', 'order/O-1');
      expect(audit.map((r) => `${r.entry}:${r.outcome}:${r.decided_by}`).reverse()).toEqual(['decision:approval:gate', 'approval:approved:ana', 'execution:executed:executor']);
      expect(await ok(env, 'proposals', 'list', '--tenant', 'acme')).toContain('no open proposals for tenant acme');

      const bad = await cadre(env, 'autonomy', 'set', 'reckless', '--tenant', 'acme');
      expect(bad.code).not.toBe(0);
      expect(bad.stderr).toContain('expected one of supervised, semi_autonomous, autonomous');
    } finally {
      await node.stop();
    }
  }, SLOW);
});

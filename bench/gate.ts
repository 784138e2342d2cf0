import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { createRuntime, loadConfig, type Runtime } from '../runtime/index.ts';
import { orderEntity } from '../machines/index.ts';

/**
 * The cost of the gate: orders whose pricing needs a safe autofix, each one gated
 * `order.autofix` effect going through decision (one transaction), claim (one, with
 * every policy checked again), the handler and its result (one), and three actor
 * transitions. Autonomous: all run on their own. Supervised: each waits for an
 * approval, decided in bulk. One runtime in this process on PostgreSQL and NATS.
 */
export async function benchGate(opts: { pgAdmin: string; nats: string; orders: number }): Promise<Record<string, number>> {
  const id = randomBytes(4).toString('hex');
  const dbName = `cadre_bench_gate_${id}`;
  const admin = postgres(opts.pgAdmin, { max: 1, onnotice: () => {} });
  await admin.unsafe(`CREATE DATABASE ${dbName}`);
  const url = opts.pgAdmin.replace(/\/[^/]*$/, `/${dbName}`);
  const rt = createRuntime(
    loadConfig({}, { databaseUrl: url, natsUrl: opts.nats, subjectPrefix: `bg${id}`, streamPrefix: `BG${id}`, logLevel: 'warn', nodeId: `bg-${id}` }),
    { entities: [orderEntity] },
  );
  await rt.start();
  try {
    await rt.gate.settings.setLevel('auto', { level: 'autonomous' }, 'bench');
    const auto = await run(rt, 'auto', opts.orders, async () => undefined);
    const approved = await run(rt, 'sup', opts.orders, async (keys) => {
      const ids = await waitForApprovals(rt, 'sup', keys.length);
      const t0 = performance.now();
      await rt.approvals.bulk('sup', ids, 'approve', 'bench');
      return performance.now() - t0;
    });
    return {
      autoGatedEffectsPerSecond: Math.round(auto.perSecond),
      approvedGatedEffectsPerSecond: Math.round(approved.perSecond),
      approvalsDecidedPerSecond: Math.round(opts.orders / ((approved.extraMs ?? 1) / 1000)),
    };
  } finally {
    await rt.stop();
    await admin.unsafe(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    await admin.end();
  }
}

const ORDER = {
  type: 'order.receive',
  clientId: 'C-7',
  paymentMethod: 'card',
  productCode: 'P-1',
  fee: 450,
  techFee: 25,
  total: 450,
  propertyAddress: '12 Elm St',
  borrower: { name: 'Ana Ruiz', email: 'ana@home.example' },
  propertyContact: { name: 'Bo Lane', phone: '555-0100' },
  catalogue: { productCode: 'P-1', fee: 450, techFee: 25, inspection: true },
  client: { id: 'C-7', active: true, creditLimit: 1e6, outstandingBalance: 0 },
};

async function run(rt: Runtime, tenant: string, n: number, between: (keys: string[]) => Promise<number | undefined>) {
  const keys = Array.from({ length: n }, (_, i) => `O-${i}`);
  const t0 = performance.now();
  await Promise.all(keys.map((key) => rt.send.send({ tenant, kind: 'order', key }, ORDER, { wait: true })));
  const extraMs = await between(keys);
  for (;;) {
    const [row] = await rt.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM actors WHERE tenant = $1 AND kind = 'order' AND state = 'accepted'`, [tenant]);
    if (row!.n >= n) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  return { perSecond: n / ((performance.now() - t0) / 1000), extraMs };
}

async function waitForApprovals(rt: Runtime, tenant: string, n: number): Promise<string[]> {
  for (;;) {
    const rows = await rt.approvals.list(tenant, { status: 'pending', limit: 1000 });
    if (rows.length >= n) return rows.map((r) => r.id);
    await new Promise((r) => setTimeout(r, 20));
  }
}

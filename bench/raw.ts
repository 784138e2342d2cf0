import { openDatabase } from '../runtime/store/index.ts';
import type { Bus } from '../bus/index.ts';

/**
 * The raw limits of this machine, measured in the same run as the runtime so the
 * ratios are visible: PostgreSQL one-row transactions from 32 clients (as pgbench
 * does), PostgreSQL batched writes of rows shaped like a journal entry, and
 * JetStream publishes with acks at 32 in flight.
 */
export async function rawPostgres(url: string, seconds = 3) {
  const db = await openDatabase({ url, max: 32 });
  await db.query(`CREATE TABLE IF NOT EXISTS bench_raw (id bigserial PRIMARY KEY, k text NOT NULL, body jsonb NOT NULL)`);
  const body = { type: 'bump', n: 1, at: new Date().toISOString(), state: 'even', correlation: 'x'.repeat(36) };
  const one = JSON.stringify(body);
  let tx = 0;
  let end = performance.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: 32 }, async (_, c) => {
      while (performance.now() < end) {
        await db.transaction((tx) => tx.query(`INSERT INTO bench_raw (k, body) VALUES ($1, $2::jsonb)`, [`c${c}`, one]));
        tx++;
      }
    }),
  );
  const oneRowTxPerSecond = tx / seconds;
  let rows = 0;
  end = performance.now() + seconds * 1000;
  const batch = JSON.stringify(Array.from({ length: 50 }, (_, i) => ({ k: `k${i}`, body })));
  await Promise.all(
    Array.from({ length: 2 }, async () => {
      while (performance.now() < end) {
        await db.query(`INSERT INTO bench_raw (k, body) SELECT r.k, r.body FROM jsonb_to_recordset($1::jsonb) AS r(k text, body jsonb)`, [batch]);
        rows += 50;
      }
    }),
  );
  await db.query(`DROP TABLE bench_raw`);
  await db.close();
  return { oneRowTxPerSecond, batchedRowsPerSecond: rows / seconds };
}

/** JetStream publishes (each acknowledged) with `inflight` outstanding. */
export async function rawJetStream(bus: Bus, subject: (i: number) => string, count = 20_000, inflight = 32) {
  const data = new TextEncoder().encode(JSON.stringify({ type: 'bump', n: 1, pad: 'x'.repeat(200) }));
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: inflight }, async () => {
      for (let i = next++; i < count; i = next++) await bus.publish(subject(i), data, { msgId: `raw-${t0}-${i}` });
    }),
  );
  return { publishesPerSecond: count / ((performance.now() - t0) / 1000) };
}

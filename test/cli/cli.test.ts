/**
 * The `cadre` CLI as users run it: `node bin/cadre.js ...` as child processes,
 * against an embedded data directory and against PostgreSQL + NATS with a
 * `cadre start` node running beside the commands.
 */
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import postgres from 'postgres';
import { afterAll, describe, expect, it } from 'vitest';
import { createTestDatabase, openTestPglite } from '../support/db.ts';
import { NATS_URL, deleteStreams } from '../support/runtime.ts';
import { NOWHERE, SLOW, cadre, json, ok, startNode } from '../support/cli.ts';

const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
});

describe.concurrent('cadre CLI', () => {
  it('embedded: send --wait, show, pause/held/resume, history, dead letters and replay; a running start locks the data directory', async () => {
    const opened = await openTestPglite();
    await opened.db.close();
    cleanups.push(() => rm(opened.dataDir!, { recursive: true, force: true }));
    const env = { CADRE_DATA_DIR: opened.dataDir! };

    expect(await ok(env, 'send', 'acme/deal/D-1', '{"type":"deal.create","title":"Roof repair","value":12000}', '--wait')).toContain('acme/deal/D-1 is now in open.stage.lead|followUp.idle (seq 1');
    const shown = await ok(env, 'actor', 'show', 'acme/deal/D-1');
    expect(shown).toMatch(/^actor\s+acme\/deal\/D-1\nstatus\s+active\nstate\s+open\.stage\.lead\|followUp\.idle \(machine active\)\nseq\s+1\n/);
    expect(shown).toContain('"title": "Roof repair"');

    expect(await ok(env, 'actor', 'pause', 'acme/deal/D-1', '--reason', 'checking the quote', '--by', 'ana')).toContain('paused acme/deal/D-1 by ana');
    expect(await ok(env, 'send', 'acme/deal/D-1', '{"type":"deal.qualify"}', '--wait')).toContain('held: acme/deal/D-1 is paused');
    expect(await ok(env, 'actor', 'resume', 'acme/deal/D-1')).toContain('resumed acme/deal/D-1');
    const history = await json<{ seq: number; event_type: string; state: string; sender: string; event: { reason?: string } }[]>(env, 'actor', 'history', 'acme/deal/D-1');
    expect(history.map((h) => [h.seq, h.event_type, h.state])).toEqual([
      [1, 'deal.create', 'open.stage.lead|followUp.idle'],
      [2, 'cadre.control.pause', 'open.stage.lead|followUp.idle'],
      [3, 'cadre.control.resume', 'open.stage.lead|followUp.idle'],
      [4, 'deal.qualify', 'open.stage.qualified|followUp.idle'], // the held message, applied on resume
    ]);
    expect(history[1]).toMatchObject({ sender: 'operator:ana', event: { reason: 'checking the quote' } });

    // A deal that does not exist yet does not take deal.qualify: a dead letter, to replay once it does.
    const bad = await cadre(env, 'send', 'acme/deal/D-2', '{"type":"deal.qualify"}', '--wait');
    expect(bad).toMatchObject({ code: 1, stderr: expect.stringContaining('(event_not_accepted); it is a dead letter now') });
    expect(bad.stderr).not.toMatch(/\n\s+at /); // no stack trace
    const listed = await ok(env, 'dead-letters', 'list', '--tenant', 'acme');
    const [, row] = listed.split('\n');
    expect(row).toMatch(/^(\d+)\s+open\s+\S+\s+deal\/D-2\s+event_not_accepted\s+acme\/deal\/D-2 in state \S+ does not accept deal\.qualify$/);
    const letter = row!.split(/\s+/)[0]!;

    await ok(env, 'send', 'acme/deal/D-2', '{"type":"deal.create","title":"Gutters"}', '--wait');
    const replayed = await ok(env, 'dead-letters', 'replay', letter, '--tenant', 'acme');
    expect(replayed).toContain(`replayed dead letter ${letter} as message `);
    expect(replayed).toContain('applied: the actor is now in open.stage.qualified|followUp.idle (seq 2)');

    const node = await startNode(env);
    expect(node.stdout()).toMatch(/embedded PGlite \+ in-process bus, data directory .+, node \S+ \(4 of 4 partitions\)\. Stop it with Ctrl\+C/);
    const locked = await cadre(env, 'actor', 'show', 'acme/deal/D-1');
    expect(locked.code).toBe(1);
    expect(locked.stderr).toMatch(/^error: the embedded database is in use by a running `cadre start` \(pid \d+\); stop it first, or run Cadre with DATABASE_URL and NATS_URL/);
    expect(await node.stop('SIGINT')).toMatchObject({ code: 0 });
  }, SLOW);

  it('PostgreSQL + NATS: commands operate a running `cadre start` without taking its partitions', async () => {
    const id = randomBytes(4).toString('hex');
    const db = await createTestDatabase('cadre_cli');
    cleanups.push(() => db.drop());
    cleanups.push(() => deleteStreams(`C${id}`));
    const env = { DATABASE_URL: db.url, NATS_URL, CADRE_SUBJECT_PREFIX: `c${id}`, CADRE_STREAM_PREFIX: `C${id}` };
    const node = await startNode({ ...env, CADRE_NODE_ID: `node-${id}` });
    expect(node.stdout()).toContain(`PostgreSQL + NATS JetStream, database 127.0.0.1:5432/${db.name}, node node-${id} (4 of 4 partitions)`);

    try {
      expect(await ok(env, 'send', 'acme/deal/D-1', '{"type":"deal.create","title":"Solar"}', '--wait', '--id', 'create-D-1')).toContain('acme/deal/D-1 is now in open.stage.lead|followUp.idle (seq 1; message create-D-1)');
      expect(await json(env, 'send', 'acme/deal/D-1', '{"type":"deal.create","title":"Solar"}', '--wait', '--id', 'create-D-1')).toMatchObject({ ok: true, seq: 1, duplicate: true });
      expect(await json(env, 'actor', 'pause', 'acme/deal/D-1')).toMatchObject({ ok: true, seq: 2, action: 'pause', by: expect.any(String) });
      expect(await ok(env, 'send', 'acme/deal/D-1', '{"type":"deal.qualify"}', '--wait')).toContain('held: acme/deal/D-1 is paused');
      expect(await ok(env, 'actor', 'resume', 'acme/deal/D-1')).toContain('resumed acme/deal/D-1');
      expect(await json(env, 'actor', 'show', 'acme/deal/D-1')).toMatchObject({ status: 'active', state: 'open.stage.qualified|followUp.idle', seq: 4, heldMessages: 0 });

      expect(await ok(env, 'send', 'acme/deal/D-1', '{"type":"deal.touch","activity":"call"}')).toMatch(/^sent deal\.touch to acme\/deal\/D-1 \(message \S+\)/);
      // Replay: the node applies the replayed message, and the command reports its commit.
      expect((await cadre(env, 'send', 'acme/deal/D-2', '{"type":"deal.qualify"}', '--wait')).code).toBe(1);
      await ok(env, 'send', 'acme/deal/D-2', '{"type":"deal.create","title":"Gutters"}', '--wait');
      const [notAccepted] = await json<{ id: number; code: string }[]>(env, 'dead-letters', 'list', '--tenant', 'acme', '--kind', 'deal');
      expect(notAccepted).toMatchObject({ code: 'event_not_accepted' });
      expect(await json(env, 'dead-letters', 'replay', String(notAccepted!.id), '--tenant', 'acme')).toMatchObject({
        status: 'replayed',
        outcome: { ok: true, state: 'open.stage.qualified|followUp.idle', seq: 2 },
      });

      expect((await cadre(env, 'send', 'acme/deal/D-1', '{"type":"deal.bogus"}', '--wait')).code).toBe(1);
      const [letter] = await json<{ id: number; code: string }[]>(env, 'dead-letters', 'list', '--tenant', 'acme', '--status', 'open');
      expect(letter).toMatchObject({ code: 'invalid_event' });
      expect(await ok(env, 'dead-letters', 'discard', String(letter!.id), '--tenant', 'acme', '--by', 'ben')).toContain(`discarded dead letter ${letter!.id} (by ben)`);
      expect(await json(env, 'dead-letters', 'list', '--tenant', 'acme', '--status', 'discarded')).toMatchObject([{ id: letter!.id, resolved_by: 'ben' }]);
      const replayDiscarded = await cadre(env, 'dead-letters', 'replay', String(letter!.id), '--tenant', 'acme', '--json');
      expect(replayDiscarded.code).toBe(1);
      expect(JSON.parse(replayDiscarded.stderr)).toEqual({ error: { code: 'conflict', message: `dead letter ${letter!.id} is already discarded` } });

      // The fire-and-forget touch was applied by the node, in order, after the qualify.
      const history = (await ok(env, 'actor', 'history', 'acme/deal/D-1', '--after', '3', '--limit', '5')).trim().split('\n');
      expect(history[0]).toMatch(/^SEQ\s+COMMITTED\s+EVENT\s+STATE\s+FROM\s+MESSAGE$/);
      expect(history.slice(1).map((l) => l.split(/\s+/).slice(0, 4).filter((_, i) => i !== 1))).toEqual([
        ['4', 'deal.qualify', 'open.stage.qualified|followUp.idle'],
        ['5', 'deal.touch', 'open.stage.qualified|followUp.idle'],
      ]);

      const sql = postgres(db.url, { max: 1, onnotice: () => {} });
      try {
        expect(await sql`SELECT DISTINCT owner FROM partition_leases`).toEqual([{ owner: `node-${id}` }]);
        expect(await sql`SELECT node_id FROM runtime_nodes`).toEqual([{ node_id: `node-${id}` }]);
      } finally {
        await sql.end({ timeout: 5 });
      }
    } finally {
      const stopped = await node.stop('SIGTERM');
      expect(stopped).toMatchObject({ code: 0 });
      expect(stopped.stderr).toContain('SIGTERM received: stopping');
    }
  }, SLOW);

  it('refuses a bad configuration with exit 2, naming the variable, and no stack trace', async () => {
    const r = await cadre({ ...NOWHERE, PORT: 'abc' }, 'actor', 'show', 'acme/deal/D-1');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error: invalid configuration: PORT: .+\n$/);
    const j = await cadre({ ...NOWHERE, PORT: 'abc' }, 'migrate', '--json');
    expect(j.code).toBe(2);
    expect(JSON.parse(j.stderr)).toMatchObject({ error: { code: 'CONFIG_INVALID', message: expect.stringContaining('PORT') } });
  });

  it('reads without changing the schema: on a database never migrated it says to migrate first', async () => {
    const db = await createTestDatabase('cadre_cli');
    cleanups.push(() => db.drop());
    const env = { DATABASE_URL: db.url }; // no NATS_URL: reads need no bus, and no streams are left behind
    const r = await cadre(env, 'dead-letters', 'list', '--tenant', 'acme');
    expect(r).toMatchObject({ code: 1, stdout: '' });
    expect(r.stderr).toMatch(/^error: the database has no Cadre schema yet \(.+\); run `cadre migrate` or `cadre start` first\n$/);
    expect(await ok(env, 'migrate')).toMatch(/applied\s+001_actors\.sql/);
    expect(await json(env, 'dead-letters', 'list', '--tenant', 'acme')).toEqual([]);
  });

  it('refuses a bad address or bad arguments with exit 2 and a hint', async () => {
    const r = await cadre(NOWHERE, 'actor', 'show', 'acme/deal');
    expect(r).toMatchObject({ code: 2, stdout: '' });
    expect(r.stderr).toBe('error: actor address must be tenant/kind/key, e.g. acme/deal/D-1042 (got "acme/deal")\n');
    expect((await cadre(NOWHERE, 'send', 'acme/deal/D 1', '{"type":"deal.qualify"}')).stderr).toContain('the key is invalid');
    const badJson = await cadre(NOWHERE, 'send', 'acme/deal/D-1', '{type:deal.qualify}');
    expect(badJson).toMatchObject({ code: 2, stderr: expect.stringContaining('the event is not valid JSON') });
    const badLimit = await cadre(NOWHERE, 'dead-letters', 'list', '--tenant', 'acme', '--limit', 'many');
    expect(badLimit).toMatchObject({ code: 2, stderr: expect.stringContaining('expected a whole number from 1 to 500') });
  });
});

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cadre, ok } from '../support/cli.ts';

// `npx cadre demo` as a user runs it: a child process, embedded, no key, the whole week.

describe('cadre demo', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('runs a working week to the end, printing what each agent did, what the gates held, and how to approve', async () => {
    const parent = await mkdtemp(join(tmpdir(), 'cadre-demo-'));
    dirs.push(parent);
    const dir = join(parent, 'demo-data');
    const r = await cadre({ ANTHROPIC_API_KEY: '' }, 'demo', '--data-dir', dir);
    expect(r.code, r.stderr).toBe(0);
    const out = r.stdout;
    // Every department worked: scheduled jobs, reactions to the won deal and the deployment, a delegation.
    for (const line of [
      /Executive\s+ceo-morning-brief: .*done/,
      /Sales\s+sales-pipeline-review: /,
      /Engineering\s+build-queue-check: /,
      /Delivery\s+delivery-health-check: /,
      /Marketing\s+marketing-content-pipeline: /,
      /Executive\s+weekly-ceo-report: /,
      /▶ Vertex Software signs: deal D-106 is won/,
      /Engineering\s+reacts to deal\.closed: .*sent to an entity/,
      /Delivery\s+reacts to deal\.closed: /,
      /Marketing\s+reacts to ticket\.deployed: /,
      /Engineering\s+reacts to ticket\.failed: /,
      /Delivery\s+delegated: order-exceptions: /,
      /✓ approved /,
      /✗ rejected /,
      /ran monthly-client-reports now/,
      /Delivery\s+monthly-client-reports \(Run Now\): .*held for approval/,
      /⏸ /,
    ]) {
      expect(out).toMatch(line);
    }
    for (const day of ['Mon', 'Tue', 'Wed', 'Thu', 'Fri']) expect(out).toMatch(new RegExp(`── ${day}, `));
    expect(out).toMatch(/The week in numbers/);
    const held = /The gates hold (\d+) action\(s\) for a person/.exec(out);
    expect(Number(held?.[1])).toBeGreaterThan(0);
    expect(out).toContain(`export CADRE_DATA_DIR=${dir}`);

    // What it says to do works: the approvals are there, and one can be approved.
    const id = /npx cadre approvals approve (apr_\w+) --tenant demo/.exec(out)?.[1];
    expect(id).toBeDefined();
    const list = await ok({ CADRE_DATA_DIR: dir }, 'approvals', 'list', '--tenant', 'demo');
    expect(list).toContain(id!);
    await ok({ CADRE_DATA_DIR: dir }, 'approvals', 'approve', id!, '--tenant', 'demo');

    // Run again on its own directory: it starts afresh. It refuses a directory it did not make.
    const other = join(parent, 'mine');
    await rm(other, { recursive: true, force: true });
    await ok({}, 'demo', '--data-dir', other, '--days', '1');
    const foreign = join(parent, 'foreign');
    await cadre({}, 'demo', '--data-dir', join(foreign), '--days', '1');
    await writeFile(join(foreign, 'precious.txt'), 'keep me');
    await rm(join(foreign, '.cadre-demo'));
    const refused = await cadre({}, 'demo', '--data-dir', foreign, '--days', '1');
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/was not made by `cadre demo`; choose another directory with --data-dir/);
  }, 600_000);
});

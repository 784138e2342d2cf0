/** `cadre approvals list|show|approve|reject`: the approval queue. */
import type { Command } from 'commander';
import { choiceOption, defaultOperator, intOption, parseTenant } from '../args.ts';
import { CommandFailedError } from '../errors.ts';
import { line, printFields, printJson, printTable, type OutputOptions } from '../output.ts';
import { withRuntime } from '../session.ts';

const STATUSES = ['pending', 'approved', 'rejected', 'expired', 'withdrawn'] as const;
const RISKS = ['low', 'medium', 'high', 'critical'] as const;

interface ListOptions extends OutputOptions {
  tenant: string;
  status?: (typeof STATUSES)[number];
  risk?: (typeof RISKS)[number];
  agent?: string;
  limit: number;
}

interface DecideOptions extends OutputOptions {
  tenant: string;
  by?: string;
  note?: string;
}

/** Registers `cadre approvals ...`. */
export function registerApprovals(program: Command): void {
  const ap = program.command('approvals').description('what the gates hold back: list, show, approve, reject');

  ap.command('list')
    .description("a tenant's approvals, newest first (pending by default)")
    .requiredOption('--tenant <tenant>', 'the tenant, e.g. acme')
    .option('--status <status>', `one of ${STATUSES.join(', ')}`, choiceOption(STATUSES), 'pending')
    .option('--risk <risk>', `one of ${RISKS.join(', ')}`, choiceOption(RISKS))
    .option('--agent <agent>', 'only this agent, e.g. sales')
    .option('--limit <n>', 'how many (at most 1000)', intOption(1, 1000), 50)
    .option('--json', 'print JSON')
    .action(async (opts: ListOptions) => {
      const tenant = parseTenant(opts.tenant);
      const rows = await withRuntime({}, (rt) => rt.approvals.list(tenant, { status: opts.status, risk: opts.risk, agent: opts.agent, limit: opts.limit }));
      if (opts.json) return printJson(rows);
      printTable(
        [
          { header: 'ID', get: (r) => r.id },
          { header: 'RISK', get: (r) => r.risk },
          { header: 'AGENT', get: (r) => r.agent },
          { header: 'ACTOR', get: (r) => `${String(r.kind)}/${String(r.key)}`, max: 30 },
          { header: 'EXPIRES', get: (r) => r.expires_at },
          { header: 'PREVIEW', get: (r) => r.preview, max: 80 },
        ],
        rows,
        `no ${opts.status} approvals for tenant ${tenant}`,
      );
    });

  ap.command('show <id>')
    .description('one approval, with what approving it releases')
    .requiredOption('--tenant <tenant>', 'the tenant, e.g. acme')
    .option('--json', 'print JSON')
    .action(async (id: string, opts: OutputOptions & { tenant: string }) => {
      const tenant = parseTenant(opts.tenant);
      const a = await withRuntime({}, (rt) => rt.approvals.get(tenant, id));
      if (!a) throw new CommandFailedError(`no approval ${id} in tenant ${tenant}; list them with \`cadre approvals list --tenant ${tenant}\``, 'not_found');
      if (opts.json) return printJson(a);
      printFields([
        ['id', a.id], ['status', a.status], ['actor', `${a.kind}/${a.key}`], ['agent', a.agent], ['action', a.action_type],
        ['risk', a.risk], ['level', a.level], ['preview', a.preview], ['params', a.params], ['requested', a.requested_at],
        ['expires', a.expires_at], ['decided by', a.decided_by], ['decided at', a.decided_at], ['note', a.note],
      ]);
    });

  for (const decision of ['approve', 'reject'] as const) {
    ap.command(`${decision} <ids...>`)
      .description(decision === 'approve' ? 'approve one or more approvals: their effects run' : 'reject one or more approvals: their effects never run')
      .requiredOption('--tenant <tenant>', 'the tenant, e.g. acme')
      .option('--by <name>', 'who decides (default: $USER)')
      .option('--note <text>', 'why, kept with the decision')
      .option('--json', 'print JSON')
      .action(async (ids: string[], opts: DecideOptions) => {
        const tenant = parseTenant(opts.tenant);
        const by = opts.by || defaultOperator();
        const results = await withRuntime({}, (rt) => rt.approvals.bulk(tenant, ids, decision, by, opts.note));
        if (opts.json) printJson(results);
        else for (const r of results) line(r.ok ? `${r.id}: ${r.approval.status} by ${by} (${r.approval.kind}/${r.approval.key}, ${r.approval.action_type})` : `${r.id}: not ${decision}d: ${r.error}`);
        const failed = results.filter((r) => !r.ok);
        if (failed.length > 0) throw new CommandFailedError(`${failed.length} of ${results.length} could not be ${decision}d (see above)`, 'partly_failed', failed);
      });
  }
}

/** `cadre autonomy|pause|resume|dry-run|suppress|audit|proposals`: the gate's settings and records. */
import type { Command } from 'commander';
import { choiceOption, defaultOperator, intOption, parseTenant } from '../args.ts';
import { UsageError } from '../errors.ts';
import { line, printFields, printJson, printTable, type OutputOptions } from '../output.ts';
import { withRuntime } from '../session.ts';

const LEVELS = ['supervised', 'semi_autonomous', 'autonomous'] as const;
const RISKS = ['low', 'medium', 'high', 'critical'] as const;
const SUPPRESSIONS = ['opt_out', 'bounce', 'complaint', 'manual'] as const;

type Tenanted = OutputOptions & { tenant: string; by?: string };

/** Registers the gate's commands. */
export function registerGate(program: Command): void {
  const au = program.command('autonomy').description('autonomy levels, risk classes and daily limits of a tenant');
  au.command('show')
    .description("a tenant's levels, risks, limits and switches, with the defaults")
    .requiredOption('--tenant <tenant>', 'the tenant, e.g. acme')
    .option('--json', 'print JSON')
    .action(async (opts: Tenanted) => {
      const tenant = parseTenant(opts.tenant);
      const g = await withRuntime({}, (rt) => rt.gate.settings.read(tenant));
      if (opts.json) return printJson(g);
      printFields([['default level', g.defaults.level], ['approval TTL', `${g.defaults.approvalTtlMs / 3_600_000} h`], ['learn after', `${g.defaults.learnAfter} approvals`], ['dry-run (instance)', g.defaults.dryRun]]);
      line();
      printTable([{ header: 'AGENT', get: (r) => r.agent }, { header: 'ACTION', get: (r) => r.action_type }, { header: 'LEVEL', get: (r) => r.level }, { header: 'SET BY', get: (r) => r.set_by }], g.levels, 'no levels set: the default level applies');
      if (g.risks.length) printTable([{ header: 'ACTION', get: (r) => r.action_type }, { header: 'RISK', get: (r) => r.risk }], g.risks, '');
      if (g.limits.length) printTable([{ header: 'ACTION', get: (r) => r.action_type }, { header: 'PER DAY', get: (r) => r.per_day }], g.limits, '');
      for (const s of g.switches) line(`switch ${s.scope === '*' ? 'global' : s.scope}: ${s.paused ? 'PAUSED' : 'running'}${s.dry_run ? ', dry-run' : ''} (by ${s.changed_by}${s.reason ? `: ${s.reason}` : ''})`);
    });
  au.command('set <level>')
    .description(`set a level (${LEVELS.join(', ')}) for the tenant, an agent, an action type, or both`)
    .requiredOption('--tenant <tenant>', 'the tenant, e.g. acme')
    .option('--agent <agent>', 'only this agent (default: any)', '*')
    .option('--action <type>', 'only this action type, e.g. email.send (default: any)', '*')
    .option('--by <name>', 'who sets it (default: $USER)')
    .action(async (level: string, opts: Tenanted & { agent: string; action: string }) => {
      const tenant = parseTenant(opts.tenant);
      const by = opts.by || defaultOperator();
      if (!(LEVELS as readonly string[]).includes(level)) throw new UsageError(`"${level}" is not a level: expected one of ${LEVELS.join(', ')}`);
      await withRuntime({}, (rt) => rt.gate.settings.setLevel(tenant, { agent: opts.agent, actionType: opts.action, level: level as (typeof LEVELS)[number] }, by));
      line(`${tenant}: agent ${opts.agent}, action ${opts.action} is now ${level} (by ${by})`);
    });
  au.command('risk <actionType> <risk>')
    .description(`set the risk class (${RISKS.join(', ')}) of an action type for a tenant`)
    .requiredOption('--tenant <tenant>', 'the tenant, e.g. acme')
    .option('--by <name>', 'who sets it (default: $USER)')
    .action(async (actionType: string, risk: string, opts: Tenanted) => {
      const tenant = parseTenant(opts.tenant);
      if (!(RISKS as readonly string[]).includes(risk)) throw new UsageError(`"${risk}" is not a risk class: expected one of ${RISKS.join(', ')}`);
      await withRuntime({}, (rt) => rt.gate.settings.setRisk(tenant, { actionType, risk: risk as (typeof RISKS)[number] }, opts.by || defaultOperator()));
      line(`${tenant}: ${actionType} is now ${risk} risk`);
    });
  au.command('limit <actionType> <perDay>')
    .description('set the daily limit of an action type for a tenant (0 stops it)')
    .requiredOption('--tenant <tenant>', 'the tenant, e.g. acme')
    .option('--by <name>', 'who sets it (default: $USER)')
    .action(async (actionType: string, perDay: string, opts: Tenanted) => {
      const tenant = parseTenant(opts.tenant);
      const n = Number(perDay);
      if (!/^\d+$/.test(perDay) || n > 1_000_000) throw new UsageError(`"${perDay}" is not a daily limit: expected a whole number from 0 to 1000000`);
      await withRuntime({}, (rt) => rt.gate.settings.setLimit(tenant, { actionType, perDay: n }, opts.by || defaultOperator()));
      line(`${tenant}: at most ${n} ${actionType} per UTC day`);
    });

  const switchCommand = (parent: Command, name: string, description: string, change: { paused?: boolean; dryRun?: boolean }, said: string) =>
    parent
      .command(name)
      .description(description)
      .option('--tenant <tenant>', 'one tenant (default: every tenant)')
      .option('--reason <text>', 'why, shown to operators and in blocked decisions')
      .option('--by <name>', 'who (default: $USER)')
      .action(async (opts: { tenant?: string; reason?: string; by?: string }) => {
        const scope = opts.tenant ? parseTenant(opts.tenant) : '*';
        const by = opts.by || defaultOperator();
        await withRuntime({}, (rt) => rt.gate.settings.setSwitch(scope, { ...change, reason: opts.reason }, by));
        line(`${scope === '*' ? 'every tenant' : `tenant ${scope}`}: ${said} (by ${by})`);
      });
  switchCommand(program, 'pause', 'the kill switch: no effect runs; each blocked attempt is audited', { paused: true }, 'kill switch ON: no effect runs');
  switchCommand(program, 'resume', 'turn the kill switch off (nothing blocked runs retroactively)', { paused: false }, 'kill switch off: what was blocked stays blocked until asked again');
  const dry = program.command('dry-run').description('effects are recorded as would-have-run, never run');
  switchCommand(dry, 'on', 'start recording effects instead of running them', { dryRun: true }, 'dry-run on: effects are recorded, not run');
  switchCommand(dry, 'off', 'run effects again', { dryRun: false }, 'dry-run off');

  const sup = program.command('suppress').description('addresses no outbound message may go to');
  sup.command('add <address>')
    .requiredOption('--tenant <tenant>', 'the tenant, e.g. acme')
    .option('--kind <kind>', SUPPRESSIONS.join(', '), choiceOption(SUPPRESSIONS), 'manual')
    .option('--reason <text>', 'why')
    .option('--by <name>', 'who (default: $USER)')
    .action(async (address: string, opts: Tenanted & { kind: (typeof SUPPRESSIONS)[number]; reason?: string }) => {
      const tenant = parseTenant(opts.tenant);
      await withRuntime({}, (rt) => rt.gate.settings.suppress(tenant, { address, kind: opts.kind, reason: opts.reason }, opts.by || defaultOperator()));
      line(`${tenant}: ${address} suppressed (${opts.kind})`);
    });
  sup.command('remove <address>')
    .requiredOption('--tenant <tenant>', 'the tenant, e.g. acme')
    .action(async (address: string, opts: Tenanted) => {
      const tenant = parseTenant(opts.tenant);
      const removed = await withRuntime({}, (rt) => rt.gate.settings.unsuppress(tenant, address));
      line(removed ? `${tenant}: ${address} may receive messages again` : `${tenant}: ${address} was not suppressed`);
    });

  program
    .command('audit')
    .description("a tenant's audit log, newest first: gate decisions, approvals, executions")
    .requiredOption('--tenant <tenant>', 'the tenant, e.g. acme')
    .option('--actor <kind/key>', 'one actor, e.g. order/O-1')
    .option('--agent <agent>', 'one agent')
    .option('--since <iso>', 'entries at or after this time')
    .option('--limit <n>', 'how many (at most 1000)', intOption(1, 1000), 50)
    .option('--json', 'print JSON')
    .action(async (opts: Tenanted & { actor?: string; agent?: string; since?: string; limit: number }) => {
      const tenant = parseTenant(opts.tenant);
      const rows = await withRuntime({}, (rt) => rt.audit(tenant, { actor: opts.actor, agent: opts.agent, since: opts.since, limit: opts.limit }));
      if (opts.json) return printJson(rows);
      printTable(
        [
          { header: 'AT', get: (r) => r.at },
          { header: 'ENTRY', get: (r) => r.entry },
          { header: 'OUTCOME', get: (r) => r.outcome },
          { header: 'ACTOR', get: (r) => (r.kind ? `${String(r.kind)}/${String(r.key)}` : '-'), max: 30 },
          { header: 'ACTION', get: (r) => r.action_type },
          { header: 'BY', get: (r) => r.decided_by },
          { header: 'POLICY', get: (r) => r.policy },
          { header: 'REASON', get: (r) => r.reason, max: 70 },
        ],
        rows,
        `no audit entries for tenant ${tenant}`,
      );
    });

  const pr = program.command('proposals').description('level changes Cadre proposes after streaks of approvals');
  pr.command('list')
    .requiredOption('--tenant <tenant>', 'the tenant, e.g. acme')
    .option('--json', 'print JSON')
    .action(async (opts: Tenanted) => {
      const tenant = parseTenant(opts.tenant);
      const rows = await withRuntime({}, (rt) => rt.proposals.list(tenant));
      if (opts.json) return printJson(rows);
      printTable(
        [{ header: 'ID', get: (r) => r.id }, { header: 'AGENT', get: (r) => r.agent }, { header: 'ACTION', get: (r) => r.action_type }, { header: 'FROM', get: (r) => r.from_level }, { header: 'TO', get: (r) => r.to_level }, { header: 'STREAK', get: (r) => r.streak }],
        rows,
        `no open proposals for tenant ${tenant}`,
      );
    });
  for (const verb of ['accept', 'dismiss'] as const) {
    pr.command(`${verb} <id>`)
      .requiredOption('--tenant <tenant>', 'the tenant, e.g. acme')
      .option('--note <text>', 'why')
      .option('--by <name>', 'who (default: $USER)')
      .action(async (id: string, opts: Tenanted & { note?: string }) => {
        const tenant = parseTenant(opts.tenant);
        const by = opts.by || defaultOperator();
        const p = await withRuntime({}, (rt) => rt.proposals[verb](tenant, id, by, opts.note));
        line(verb === 'accept' ? `${tenant}: agent ${p.agent}, action ${p.action_type} is now ${p.to_level} (by ${by})` : `dismissed ${id}; levels unchanged`);
      });
  }
}

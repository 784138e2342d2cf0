/** `cadre dead-letters list|replay|discard`: messages that could not be applied, and what to do with them. */
import type { Command } from 'commander';
import { Token } from '../../../bus/index.ts';
import { choiceOption, defaultOperator, intOption, parseTenant } from '../args.ts';
import { UsageError } from '../errors.ts';
import { line, printJson, printTable, type OutputOptions } from '../output.ts';
import type { Runtime } from '../../runtime.ts';
import { withRuntime } from '../session.ts';

const STATUSES = ['open', 'replayed', 'discarded'] as const;

interface ListOptions extends OutputOptions {
  tenant: string;
  status?: (typeof STATUSES)[number];
  kind?: string;
  limit: number;
}

interface ResolveOptions extends OutputOptions {
  tenant: string;
  by?: string;
}

/** Registers `cadre dead-letters ...`. */
export function registerDeadLetters(program: Command): void {
  const dl = program.command('dead-letters').description('messages that could not be applied: list, replay, discard');

  dl.command('list')
    .description("a tenant's dead letters, newest first")
    .requiredOption('--tenant <tenant>', 'the tenant, e.g. acme')
    .option('--status <status>', `only ${STATUSES.join(', ')}`, choiceOption(STATUSES))
    .option('--kind <kind>', 'only actors of this kind, e.g. deal')
    .option('--limit <n>', 'how many (at most 500)', intOption(1, 500), 50)
    .option('--json', 'print JSON')
    .action(async (opts: ListOptions) => {
      const tenant = parseTenant(opts.tenant);
      if (opts.kind !== undefined && !Token.safeParse(opts.kind).success) throw new UsageError(`--kind "${opts.kind}" is not a kind name, e.g. deal`);
      const rows = await withRuntime({}, (rt) => rt.operator.deadLetters(tenant, { status: opts.status, kind: opts.kind, limit: opts.limit }));
      if (opts.json) {
        printJson(rows);
        return;
      }
      printTable(
        [
          { header: 'ID', get: (r) => r.id },
          { header: 'STATUS', get: (r) => r.status },
          { header: 'CREATED', get: (r) => r.created_at },
          { header: 'ACTOR', get: (r) => (r.kind ? `${String(r.kind)}/${String(r.key)}` : r.subject), max: 40 },
          { header: 'CODE', get: (r) => r.code },
          { header: 'REASON', get: (r) => r.reason, max: 80 },
        ],
        rows,
        `no ${opts.status ?? ''}${opts.status ? ' ' : ''}dead letters for tenant ${tenant}`,
      );
    });

  resolveCommand(dl, 'replay', 'send a dead letter to its actor again (fix the cause first) and mark it replayed')
    .action(async (id: number, opts: ResolveOptions) => {
      const tenant = parseTenant(opts.tenant);
      const by = opts.by || defaultOperator();
      const { messageId, outcome } = await withRuntime({ applies: true }, async (rt) => {
        const { messageId } = await rt.operator.replay(tenant, id, by);
        return { messageId, outcome: await replayOutcome(rt, tenant, messageId) };
      });
      if (opts.json) {
        printJson({ id, tenant, status: 'replayed', messageId, by, outcome: outcome ?? null });
        return;
      }
      line(`replayed dead letter ${id} as message ${messageId} (by ${by})`);
      if (!outcome) line('its actor applies it shortly; a refusal shows up as a new dead letter');
      else if (outcome.ok) line(`applied: the actor is now in ${outcome.state} (seq ${outcome.seq})`);
      else line(`refused again: ${outcome.reason} (${outcome.code}); that is a new dead letter`);
    });

  resolveCommand(dl, 'discard', 'mark a dead letter as handled without replaying it')
    .action(async (id: number, opts: ResolveOptions) => {
      const tenant = parseTenant(opts.tenant);
      const by = opts.by || defaultOperator();
      await withRuntime({}, (rt) => rt.operator.discard(tenant, id, by));
      if (opts.json) printJson({ id, tenant, status: 'discarded', by });
      else line(`discarded dead letter ${id} (by ${by})`);
    });
}

/** A command that resolves one dead letter: its id, tenant, who, and JSON output. */
function resolveCommand(parent: Command, name: string, description: string): Command {
  return parent
    .command(name)
    .description(description)
    .argument('<id>', 'the dead letter id (from dead-letters list)', intOption(1, Number.MAX_SAFE_INTEGER))
    .requiredOption('--tenant <tenant>', 'the tenant, e.g. acme')
    .option('--by <name>', 'who, recorded on the dead letter (default: $USER or "operator")')
    .option('--json', 'print JSON');
}

/** How long `replay` looks for the outcome a running node commits before saying it is pending. */
const OUTCOME_WAIT_MS = 3000;

/**
 * The committed outcome of a replayed message. Embedded, this process applies it
 * itself, so after settling it is known; otherwise a running node applies it, and
 * the outcome is looked up for a short while.
 */
async function replayOutcome(rt: Runtime, tenant: string, messageId: string) {
  if (rt.role === 'node') {
    await rt.settle();
    return rt.send.outcome(tenant, messageId);
  }
  const deadline = Date.now() + OUTCOME_WAIT_MS;
  for (;;) {
    const outcome = await rt.send.outcome(tenant, messageId);
    if (outcome || Date.now() > deadline) return outcome;
    await new Promise((r) => setTimeout(r, 100));
  }
}

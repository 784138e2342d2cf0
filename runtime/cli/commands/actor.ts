/** `cadre actor show|history|pause|resume|stop`: one actor, as operators see it. */
import type { Command } from 'commander';
import { formatAddress } from '../../../bus/index.ts';
import { defaultOperator, intOption, parseAddressArg } from '../args.ts';
import { CommandFailedError } from '../errors.ts';
import { cell, line, printFields, printJson, printTable, type OutputOptions } from '../output.ts';
import { withRuntime } from '../session.ts';

type Row = Record<string, unknown>;

/** Registers `cadre actor ...`. */
export function registerActor(program: Command): void {
  const actor = program.command('actor').description('read and control one actor (tenant/kind/key)');

  actor
    .command('show')
    .description("an actor's state, context, pending timers and effects, and held messages")
    .argument('<address>', 'tenant/kind/key, e.g. acme/deal/D-1042')
    .option('--json', 'print JSON')
    .action(async (text: string, opts: OutputOptions) => {
      const address = parseAddressArg(text);
      const found = await withRuntime({}, (rt) => rt.operator.actor(address));
      if (!found) throw new CommandFailedError(`no actor ${text}: it has never committed a message (check the tenant, kind and key)`, 'not_found');
      if (opts.json) printJson(found);
      else showActor(found);
    });

  actor
    .command('history')
    .description("an actor's journal, oldest first: each message and the state it led to")
    .argument('<address>', 'tenant/kind/key')
    .option('--limit <n>', 'entries to show (at most 1000)', intOption(1, 1000), 100)
    .option('--after <seq>', 'only entries after this sequence number', intOption(0, Number.MAX_SAFE_INTEGER), 0)
    .option('--json', 'print JSON')
    .action(async (text: string, opts: OutputOptions & { limit: number; after: number }) => {
      const address = parseAddressArg(text);
      const rows = await withRuntime({}, (rt) => rt.operator.history(address, { limit: opts.limit, afterSeq: opts.after }));
      if (opts.json) {
        printJson(rows);
        return;
      }
      printTable(
        [
          { header: 'SEQ', get: (r) => r.seq },
          { header: 'COMMITTED', get: (r) => r.committed_at },
          { header: 'EVENT', get: (r) => r.event_type },
          { header: 'STATE', get: (r) => r.state },
          { header: 'FROM', get: (r) => r.sender, max: 40 },
          { header: 'MESSAGE', get: (r) => r.message_id, max: 40 },
        ],
        rows,
        `no journal entries for ${text}${opts.after ? ` after seq ${opts.after}` : ''}`,
      );
    });

  for (const action of ['pause', 'resume', 'stop'] as const) registerControl(actor, action);
}

const DESCRIPTIONS = {
  pause: 'pause an actor: its messages are held, in order, until it is resumed',
  resume: 'resume a paused actor: held messages are applied first, in order',
  stop: 'stop an actor for good: later messages become dead letters',
} as const;

const PAST = { pause: 'paused', resume: 'resumed', stop: 'stopped' } as const;

function registerControl(actor: Command, action: 'pause' | 'resume' | 'stop'): void {
  actor
    .command(action)
    .description(DESCRIPTIONS[action])
    .argument('<address>', 'tenant/kind/key')
    .option('--reason <text>', 'why, recorded in the journal')
    .option('--by <name>', 'who, recorded in the journal (default: $USER or "operator")')
    .option('--json', 'print JSON')
    .action(async (text: string, opts: OutputOptions & { reason?: string; by?: string }) => {
      const address = parseAddressArg(text);
      const by = opts.by || defaultOperator();
      const reply = await withRuntime({ applies: true }, (rt) => rt.operator.control(address, action, by, opts.reason));
      if ('queued' in reply) throw new Error(`control of ${text} returned no commit reply`);
      if (!reply.ok) throw new CommandFailedError(`could not ${action} ${text}: ${reply.reason} (${reply.code})`, reply.code, reply);
      if (opts.json) printJson({ ...reply, address: formatAddress(address), action, by });
      else if (reply.state === 'ignored') line(`${text} is already ${action === 'resume' ? 'active' : PAST[action]}; nothing changed`);
      else line(`${PAST[action]} ${text} by ${by} (seq ${reply.seq}, state ${reply.state})`);
    });
}

function showActor(a: Row & { timers: Row[]; pendingEffects: Row[]; heldMessages: number }): void {
  const timers = a.timers.map((t) => `${cell(t.timer_id)} at ${cell(t.due_at)}`).join(', ');
  const effects = a.pendingEffects.map((e) => `${cell(e.action_type)} (attempt ${cell(e.attempts)}/${cell(e.max_attempts)})`).join(', ');
  printFields([
    ['actor', `${cell(a.tenant)}/${cell(a.kind)}/${cell(a.key)}`],
    ['status', a.status],
    ['state', `${cell(a.state)} (machine ${cell(a.machine_status)})`],
    ['seq', a.seq],
    ['created', a.created_at],
    ['updated', a.updated_at],
    ['timers', timers || 'none'],
    ['effects', effects ? `pending: ${effects}` : 'none pending'],
    ['held', `${a.heldMessages} message${a.heldMessages === 1 ? '' : 's'}`],
  ]);
  line('context');
  line(JSON.stringify(a.context, null, 2).replace(/^/gm, '  '));
}

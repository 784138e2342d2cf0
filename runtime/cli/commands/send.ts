/** `cadre send`: sends one event to one actor, and with `--wait` shows what it led to. */
import type { Command } from 'commander';
import { formatAddress } from '../../../bus/index.ts';
import { intOption, parseAddressArg, parseEventArg } from '../args.ts';
import { CommandFailedError, UsageError } from '../errors.ts';
import { line, printJson, type OutputOptions } from '../output.ts';
import { withRuntime } from '../session.ts';

interface SendCliOptions extends OutputOptions {
  id?: string;
  wait?: boolean;
  timeout: number;
}

/** Registers `cadre send`. */
export function registerSend(program: Command): void {
  program
    .command('send')
    .description('send an event to an actor')
    .argument('<address>', 'tenant/kind/key, e.g. acme/deal/D-1042')
    .argument('<event-json>', `the event, e.g. '{"type":"deal.create","title":"Roof repair"}'`)
    .option('--id <id>', 'message id; a repeated id is applied once (default: a new uuid)')
    .option('--wait', 'wait until the message is committed and show the state it led to')
    .option('--timeout <ms>', 'how long --wait waits', intOption(100, 600_000), 10_000)
    .option('--json', 'print JSON')
    .addHelpText('after', `\nExample:\n  cadre send acme/deal/D-1042 '{"type":"deal.create","title":"Roof repair","value":12000}' --wait`)
    .action(async (text: string, eventText: string, opts: SendCliOptions) => {
      const address = parseAddressArg(text);
      const event = parseEventArg(eventText);
      if (opts.id !== undefined && (opts.id.length === 0 || opts.id.length > 300)) {
        throw new UsageError('--id must be 1 to 300 characters');
      }
      const reply = await withRuntime({ applies: true }, (rt) =>
        rt.send.send(address, event, { id: opts.id, wait: Boolean(opts.wait), timeoutMs: opts.timeout, from: 'external:cli' }),
      );
      const to = formatAddress(address);
      if (!reply.ok) {
        throw new CommandFailedError(
          `${to} refused ${event.type}: ${reply.reason} (${reply.code}); it is a dead letter now: cadre dead-letters list --tenant ${address.tenant}`,
          reply.code,
          reply,
        );
      }
      if (opts.json) printJson({ address: to, ...reply });
      else if ('queued' in reply) line(`sent ${event.type} to ${to} (message ${reply.id})`);
      else if (reply.state === 'held') line(`held: ${to} is paused; ${event.type} is applied when it is resumed (message ${reply.id})`);
      else if (reply.state === 'ignored') line(`ignored by ${to} (message ${reply.id})`);
      else line(`${to} is now in ${reply.state} (seq ${reply.seq}${reply.duplicate ? ', already applied earlier' : ''}; message ${reply.id})`);
    });
}

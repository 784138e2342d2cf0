/**
 * `cadre start`: runs a runtime node until SIGINT or SIGTERM, then stops it
 * gracefully (drains the lanes, releases partitions, flushes the outbox); the
 * command then ends and the process exits 0. A second signal exits at once.
 */
import type { Command } from 'commander';
import { createRuntime } from '../../runtime.ts';
import { cliConfig, describeSetup } from '../session.ts';
import { line, type OutputOptions } from '../output.ts';

const SIGNAL_EXIT: Record<string, number> = { SIGINT: 130, SIGTERM: 143 };

/** Registers `cadre start`. */
export function registerStart(program: Command): void {
  program
    .command('start')
    .description('start a Cadre runtime node and run until Ctrl+C or SIGTERM')
    .option('--json', 'print the startup line as JSON')
    .action(async (opts: OutputOptions) => {
      await start(opts);
    });
}

/** Starts the node, prints where it runs, and resolves once a signal has stopped it. */
async function start(opts: OutputOptions): Promise<void> {
  const config = cliConfig();
  const rt = createRuntime(config);
  await rt.start();

  let stopping = false;
  let done!: { resolve: () => void; reject: (err: unknown) => void };
  const stopped = new Promise<void>((resolve, reject) => (done = { resolve, reject }));
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      process.stderr.write(`${signal} again: exiting without finishing the stop\n`);
      process.exit(SIGNAL_EXIT[signal] ?? 1);
    }
    process.stderr.write(`${signal} received: stopping (${signal === 'SIGINT' ? 'press Ctrl+C' : 'send it'} again to exit at once)\n`);
    stopping = true;
    rt.stop().then(done.resolve, done.reject);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const { mode, store } = describeSetup(config);
  const partitions = rt.ownership.owned().length;
  if (opts.json) {
    line(JSON.stringify({ status: 'running', mode: rt.mode, store, nodeId: config.nodeId, pid: process.pid, partitions }));
  } else {
    line(
      `Cadre is running: ${mode}, ${store}, node ${config.nodeId} (${partitions} of ${config.partitions} partitions). ` +
        `Stop it with Ctrl+C or \`kill ${process.pid}\`.`,
    );
  }
  // A failed stop rejects here and is reported like any other error (exit 1).
  await stopped;
  process.stderr.write('stopped\n');
}

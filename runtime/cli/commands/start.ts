/**
 * `cadre start`: runs a runtime node and the REST gateway beside it until SIGINT
 * or SIGTERM, then stops them, children before parents: the gateway (finishes the
 * requests in flight), then the runtime (drains the lanes, releases partitions,
 * flushes the outbox); the command then ends and the process exits 0. A second
 * signal exits at once.
 *
 * It prints the gateway's URL and where the instance admin token is
 * (runtime/gateway/admin-token.ts): CADRE_ADMIN_TOKEN, or the file in the data
 * directory, made at the first start. The gateway listens on CADRE_HOST (default
 * 0.0.0.0) and PORT (default 3000; 0 picks a free port).
 */
import type { Command } from 'commander';
import { createRuntime, type Runtime } from '../../runtime.ts';
import { cliConfig, describeSetup } from '../session.ts';
import { line, type OutputOptions } from '../output.ts';
import { CommandFailedError } from '../errors.ts';
import { AdminTokenError, resolveAdminToken, type AdminToken } from '../../gateway/admin-token.ts';
import { GatewayListenError, startGateway, type RunningGateway } from '../../gateway/server.ts';
import { coreRoutes } from '../../gateway/routes/index.ts';
import { adminRoutes } from '../../gateway/routes/admin.ts';
import { healthRoutes } from '../../gateway/routes/health.ts';

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
  const host = config.host;
  const rt = createRuntime(config);
  await rt.start();
  const { admin, gateway } = await openGateway(rt, host);

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
    gateway
      .close()
      .catch((err: unknown) => rt.log.warn({ err }, 'the gateway did not close cleanly'))
      .then(() => rt.stop())
      .then(done.resolve, done.reject);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const { mode, store } = describeSetup(config);
  const partitions = rt.ownership.owned().length;
  if (opts.json) {
    line(
      JSON.stringify({
        status: 'running', mode: rt.mode, store, nodeId: config.nodeId, pid: process.pid, partitions,
        gateway: { url: gateway.url, listening: gateway.listening, docs: `${gateway.url}/docs` },
        adminToken: { source: admin.source, path: admin.path, created: admin.created },
        agents: { names: rt.agents.definitions.map((a) => a.name), planner: rt.agents.planner },
      }),
    );
  } else {
    line(`Gateway: ${gateway.url} (listening on ${gateway.listening}; API docs at ${gateway.url}/docs)`);
    line(
      admin.source === 'environment'
        ? 'Admin token: the one in CADRE_ADMIN_TOKEN'
        : `Admin token: in ${admin.path} (readable by its owner only${admin.created ? '; generated now' : ''})`,
    );
    line(
      `Agents: ${rt.agents.definitions.map((a) => a.name).join(', ')}; ${rt.agents.planner === 'claude' ? 'Claude plans (ANTHROPIC_API_KEY)' : 'the rule-based planner plans (set ANTHROPIC_API_KEY for Claude)'}; ` +
        'schedules: GET /v1/schedules, runs: GET /v1/runs',
    );
    line(
      `Cadre is running: ${mode}, ${store}, node ${config.nodeId} (${partitions} of ${config.partitions} partitions). ` +
        `Stop it with Ctrl+C or \`kill ${process.pid}\`.`,
    );
  }
  // A failed stop rejects here and is reported like any other error (exit 1).
  await stopped;
  process.stderr.write('stopped\n');
}

/** The admin token and the listening gateway; a failure stops the runtime first. */
async function openGateway(rt: Runtime, host: string): Promise<{ admin: AdminToken; gateway: RunningGateway }> {
  try {
    const admin = await resolveAdminToken(rt.config);
    const gateway = await startGateway(rt, { port: rt.config.port, host, adminToken: admin.token, routes: [...coreRoutes, adminRoutes, healthRoutes] });
    return { admin, gateway };
  } catch (err) {
    await rt.stop().catch(() => undefined);
    if (err instanceof GatewayListenError) throw new CommandFailedError(`the gateway cannot start: ${err.message}`, err.code);
    if (err instanceof AdminTokenError) throw new CommandFailedError(err.message, err.code);
    throw err;
  }
}

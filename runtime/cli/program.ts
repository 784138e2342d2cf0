/**
 * The `cadre` command line: one commander program with a module per command.
 * Parsing errors from commander exit 2; see main.ts for how the rest end.
 */
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { registerActor } from './commands/actor.ts';
import { registerDeadLetters } from './commands/dead-letters.ts';
import { registerMigrate } from './commands/migrate.ts';
import { registerSend } from './commands/send.ts';
import { registerStart } from './commands/start.ts';
import { registerScript } from './commands/script.ts';
import { registerApprovals } from './commands/approvals.ts';
import { registerGate } from './commands/gate.ts';
import { registerToken } from './commands/token.ts';
import { registerInspect } from './commands/inspect.ts';
import { registerNotify } from './commands/notify.ts';
import { registerDemo } from './commands/demo.ts';
import { registerAgents } from './commands/agents.ts';

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
  return pkg.version ?? '0.0.0';
}

const ENVIRONMENT = `
Environment:
  DATABASE_URL          PostgreSQL; unset: embedded PGlite under CADRE_DATA_DIR (default ./.cadre)
  NATS_URL              NATS with JetStream; unset: the in-process bus
  CADRE_DATA_DIR        the embedded database's directory
  CADRE_LOG_LEVEL       fatal, error, warn, info, debug, trace or silent
  (all variables: docs/cli.md)

With DATABASE_URL and NATS_URL set, commands operate a running \`cadre start\`.
Embedded, a command runs Cadre itself, so stop \`cadre start\` first.
Exit codes: 0 done, 1 failed, 2 bad command line or configuration.`;

/**
 * Builds the program. Commander throws instead of exiting (exitOverride), so the
 * caller decides the exit code.
 * @example await buildProgram().parseAsync(process.argv);
 */
export function buildProgram(): Command {
  const program = new Command('cadre')
    .description('Cadre: an actor runtime for autonomous business operations')
    .version(version(), '-V, --version')
    .exitOverride()
    .showHelpAfterError('(add --help for usage)')
    .addHelpText('after', ENVIRONMENT);
  registerStart(program);
  registerMigrate(program);
  registerActor(program);
  registerSend(program);
  registerDeadLetters(program);
  registerScript(program);
  registerApprovals(program);
  registerGate(program);
  registerToken(program);
  registerInspect(program);
  registerNotify(program);
  registerDemo(program);
  registerAgents(program);
  return program;
}

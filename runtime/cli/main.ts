/**
 * Entry point of the `cadre` executable (bin/cadre.js): runs the command and exits
 * with its code: 0 done, 1 failed, 2 bad command line or configuration.
 */
import { CommanderError } from 'commander';
import { EXIT, reportError } from './errors.ts';
import { buildProgram } from './program.ts';

async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    return EXIT.ok;
  } catch (err) {
    // Commander has already printed its message (or the help) to stderr.
    if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    return reportError(err, argv.includes('--json'));
  }
}

// Exit explicitly: a driver's idle socket or timer must not keep a finished command alive.
process.exit(await main(process.argv));

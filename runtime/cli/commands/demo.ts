/** `cadre demo`: a working week of a small company, in accelerated time, embedded. */
import type { Command } from 'commander';
import { intOption, parseTenant } from '../args.ts';
import { line } from '../output.ts';
import { runDemo } from '../../demo/index.ts';

/** Registers `cadre demo`. */
export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('seed a demo company and run its working week in accelerated time: what each agent did, what the gates held back, how to approve')
    .option('--tenant <tenant>', 'the demo tenant', 'demo')
    .option('--days <n>', 'working days to run, from Monday (1 to 5)', intOption(1, 5), 5)
    .option('--data-dir <dir>', 'where the demo keeps its embedded database (emptied first; never your CADRE_DATA_DIR)', '.cadre-demo')
    .action(async (opts: { tenant: string; days: number; dataDir: string }) => {
      const days = opts.days;
      const started = Date.now();
      await runDemo({ dataDir: opts.dataDir, tenant: parseTenant(opts.tenant), days, out: (l) => line(l) });
      line('');
      line(`(the week took ${((Date.now() - started) / 1000).toFixed(1)} s of real time)`);
    });
}

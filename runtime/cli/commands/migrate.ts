/** `cadre migrate`: applies the database migrations and says which ran. */
import type { Command } from 'commander';
import { migrate, openDatabase } from '../../store/index.ts';
import { cliConfig, describeSetup } from '../session.ts';
import { line, printJson, type OutputOptions } from '../output.ts';

/** Registers `cadre migrate`. */
export function registerMigrate(program: Command): void {
  program
    .command('migrate')
    .description('apply the database migrations (cadre start does this too)')
    .option('--json', 'print the result as JSON')
    .action(async (opts: OutputOptions) => {
      const config = cliConfig();
      const db = await openDatabase({ url: config.databaseUrl, dataDir: config.databaseUrl ? undefined : config.dataDir, max: 1 });
      let result;
      try {
        result = await migrate(db);
      } finally {
        await db.close();
      }
      if (opts.json) {
        printJson(result);
        return;
      }
      line(`${describeSetup(config).store}:`);
      for (const f of result.applied) line(`  applied  ${f}`);
      for (const f of result.skipped) line(`  skipped  ${f} (already applied)`);
      line(`${result.applied.length} applied, ${result.skipped.length} already applied`);
    });
}

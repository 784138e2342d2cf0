/**
 * `cadre tenant create|list` and `cadre token create|list|revoke`: tenants and
 * their bearer tokens, straight in the database (like the other commands; the
 * REST equivalents are POST /v1/tenants and POST|GET|DELETE /v1/tokens). A token's
 * secret is printed once, when it is made; a revoked token is refused by the
 * gateway from its next request on.
 */
import type { Command } from 'commander';
import { choiceOption, defaultOperator, parseTenant } from '../args.ts';
import { CommandFailedError } from '../errors.ts';
import { line, printFields, printJson, printTable, type OutputOptions } from '../output.ts';
import { withRuntime } from '../session.ts';
import { Tokens, TenantNotFoundError, type Role } from '../../gateway/tokens.ts';
import type { Runtime } from '../../runtime.ts';

const ROLES = ['viewer', 'operator', 'admin'] as const;

type By = OutputOptions & { by?: string };

/** Tokens on a command's runtime (it checks no admin token: the CLI has the database). */
const tokensOf = (rt: Runtime) => new Tokens(rt.db, rt.clock, null);
const byOf = (opts: By) => `cli:${opts.by || defaultOperator()}`;

/** Registers `cadre tenant ...` and `cadre token ...`. */
export function registerToken(program: Command): void {
  const tenant = program.command('tenant').description('tenants: create, list');

  tenant
    .command('create <tenant>')
    .description('create a tenant (nothing changes if it exists)')
    .option('--name <name>', 'display name (default: the tenant)')
    .option('--by <name>', 'who creates it (default: $USER)')
    .option('--json', 'print JSON')
    .action(async (name: string, opts: By & { name?: string }) => {
      const t = parseTenant(name);
      const made = await withRuntime({}, async (rt) => {
        const m = await tokensOf(rt).createTenant(t, opts.name?.trim() || t, byOf(opts));
        // Its agents' schedules, as POST /v1/tenants does (kept as they are when the tenant existed).
        return { ...m, schedules: await rt.agents.ensureTenant(m.tenant) };
      });
      if (opts.json) printJson(made);
      else {
        line(made.created ? `created tenant ${made.tenant} (${made.name})` : `tenant ${made.tenant} exists already (${made.name})`);
        if (made.schedules > 0) line(`${made.schedules} agent schedule(s) created: cadre schedules list --tenant ${made.tenant}`);
      }
    });

  tenant
    .command('list')
    .description('every tenant')
    .option('--json', 'print JSON')
    .action(async (opts: OutputOptions) => {
      const rows = await withRuntime({}, (rt) => tokensOf(rt).listTenants());
      if (opts.json) return printJson(rows);
      printTable(
        [
          { header: 'TENANT', get: (r) => r.tenant },
          { header: 'NAME', get: (r) => r.name },
          { header: 'CREATED', get: (r) => r.created_at },
          { header: 'BY', get: (r) => r.created_by },
        ],
        rows,
        'no tenants yet: `cadre tenant create <tenant>`',
      );
    });

  const token = program.command('token').description("bearer tokens of the REST gateway: create, list, revoke");

  token
    .command('create')
    .description('make a token for a tenant and print its secret (shown this once)')
    .requiredOption('--tenant <tenant>', 'the tenant, e.g. acme (it must exist: `cadre tenant create`)')
    .requiredOption('--role <role>', `one of ${ROLES.join(', ')}`, choiceOption(ROLES))
    .requiredOption('--name <name>', 'what the token is for, e.g. "n8n"')
    .option('--by <name>', 'who makes it (default: $USER)')
    .option('--json', 'print JSON')
    .action(async (opts: By & { tenant: string; role: Role; name: string }) => {
      const t = parseTenant(opts.tenant);
      const name = opts.name.trim();
      if (!name) throw new CommandFailedError('--name must not be empty', 'INVALID_INPUT');
      const made = await withRuntime({}, async (rt) => {
        const tokens = tokensOf(rt);
        try {
          await tokens.requireTenant(t);
        } catch (err) {
          if (err instanceof TenantNotFoundError) throw new CommandFailedError(`there is no tenant ${t}; create it first: cadre tenant create ${t}`, 'UNKNOWN_TENANT');
          throw err;
        }
        return tokens.create(t, opts.role, name, byOf(opts));
      });
      if (opts.json) return printJson(made);
      printFields([
        ['id', made.id],
        ['tenant', made.tenant],
        ['role', made.role],
        ['name', made.name],
        ['secret', made.secret],
      ]);
      line('');
      line('Keep the secret now: it is stored only as a hash and cannot be shown again.');
      line(`Use it as: Authorization: Bearer ${made.secret}`);
    });

  token
    .command('list')
    .description("a tenant's tokens (never their secrets), newest first")
    .option('--tenant <tenant>', 'the tenant (default: every tenant)')
    .option('--live', 'leave out revoked tokens')
    .option('--json', 'print JSON')
    .action(async (opts: OutputOptions & { tenant?: string; live?: boolean }) => {
      const t = opts.tenant === undefined ? null : parseTenant(opts.tenant);
      const rows = (await withRuntime({}, (rt) => tokensOf(rt).list(t))).filter((r) => !opts.live || r.revoked_at === null);
      if (opts.json) return printJson(rows);
      printTable(
        [
          { header: 'ID', get: (r) => r.id },
          { header: 'TENANT', get: (r) => r.tenant },
          { header: 'ROLE', get: (r) => r.role },
          { header: 'NAME', get: (r) => r.name, max: 40 },
          { header: 'CREATED', get: (r) => r.created_at },
          { header: 'LAST USED', get: (r) => r.last_used_at },
          { header: 'REVOKED', get: (r) => r.revoked_at },
        ],
        rows,
        t ? `no tokens for tenant ${t}` : 'no tokens yet: `cadre token create --tenant <t> --role <role> --name <name>`',
      );
    });

  token
    .command('revoke <id>')
    .description('revoke a token: the gateway refuses it from its next request on')
    .option('--tenant <tenant>', 'only if the token belongs to this tenant')
    .option('--by <name>', 'who revokes it (default: $USER)')
    .option('--json', 'print JSON')
    .action(async (id: string, opts: By & { tenant?: string }) => {
      const t = opts.tenant === undefined ? null : parseTenant(opts.tenant);
      const by = byOf(opts);
      const { revoked, row } = await withRuntime({}, async (rt) => {
        const tokens = tokensOf(rt);
        const revoked = await tokens.revoke(id, t, by);
        return { revoked, row: await tokens.get(id, t) };
      });
      if (!row) throw new CommandFailedError(`there is no token ${id}${t ? ` in tenant ${t}` : ''}`, 'NOT_FOUND');
      if (opts.json) return printJson({ ...row, alreadyRevoked: !revoked });
      line(revoked ? `revoked ${id} (tenant ${row.tenant}, ${row.role} "${row.name}") by ${by}` : `${id} was already revoked (at ${row.revoked_at?.toISOString() ?? '?'} by ${row.revoked_by ?? '?'})`);
    });
}

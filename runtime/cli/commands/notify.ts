/** `cadre notify list|webhook show|set|clear` and `cadre emails list`: notifications, the tenant's webhook, recorded emails. */
import type { Command } from 'commander';
import { choiceOption, defaultOperator, intOption, parseTenant } from '../args.ts';
import { UsageError } from '../errors.ts';
import { line, printFields, printJson, printTable, type OutputOptions } from '../output.ts';
import { withRuntime } from '../session.ts';
import { loadNotifyConfig, Notifications, NotifyError } from '../../notify/index.ts';
import type { Runtime } from '../../runtime.ts';

const KINDS = ['brief', 'report', 'alert', 'summary', 'draft'] as const;
const SEVERITIES = ['info', 'warning', 'urgent'] as const;
const DELIVERIES = ['pending', 'sending', 'delivered', 'failed', 'throttled', 'not_configured'] as const;
const EMAIL_STATUSES = ['pending', 'sending', 'sent', 'failed', 'logged'] as const;

type Tenanted = OutputOptions & { tenant: string; by?: string };
type Listing = Tenanted & { since?: string; limit: number; after?: string };

const notifications = (rt: Runtime) => new Notifications(rt.db, rt.clock, loadNotifyConfig(process.env));

/** Runs `fn`, turning a refused webhook or cursor into a usage error (exit 2). */
async function refusedAsUsage<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof NotifyError) throw new UsageError(err.message);
    throw err;
  }
}

function checkSince(since: string | undefined): void {
  if (since !== undefined && Number.isNaN(Date.parse(since))) throw new UsageError(`--since "${since}" is not a time: give ISO 8601, e.g. 2026-01-05T09:00:00Z`);
}

/** Registers `notify` and `emails`. */
export function registerNotify(program: Command): void {
  const nt = program.command('notify').description('notifications (notify.send) and where they go');
  nt.command('list')
    .description("a tenant's notifications, newest first, with how each was delivered")
    .requiredOption('--tenant <tenant>', 'the tenant, e.g. acme')
    .option('--kind <kind>', KINDS.join(', '), choiceOption(KINDS))
    .option('--channel <channel>', 'one channel, e.g. leadership')
    .option('--severity <severity>', SEVERITIES.join(', '), choiceOption(SEVERITIES))
    .option('--delivery <status>', DELIVERIES.join(', '), choiceOption(DELIVERIES))
    .option('--since <iso>', 'notifications at or after this time')
    .option('--limit <n>', 'how many (at most 500)', intOption(1, 500), 50)
    .option('--after <cursor>', 'the next page: the cursor the previous one printed')
    .option('--json', 'print JSON')
    .action(async (opts: Listing & { kind?: string; channel?: string; severity?: string; delivery?: (typeof DELIVERIES)[number] }) => {
      const tenant = parseTenant(opts.tenant);
      checkSince(opts.since);
      const page = await refusedAsUsage(() =>
        withRuntime({}, (rt) =>
          notifications(rt).list(tenant, { kind: opts.kind, channel: opts.channel, severity: opts.severity, status: opts.delivery, since: opts.since, limit: opts.limit, after: opts.after }),
        ),
      );
      if (opts.json) return printJson(page);
      printTable(
        [
          { header: 'AT', get: (r) => r.created_at },
          { header: 'KIND', get: (r) => r.kind },
          { header: 'CHANNEL', get: (r) => r.channel },
          { header: 'SEVERITY', get: (r) => r.severity },
          { header: 'DELIVERY', get: (r) => r.status },
          { header: 'TITLE', get: (r) => r.title, max: 50 },
          { header: 'ID', get: (r) => r.id, max: 80 },
        ],
        page.items,
        `no notifications for tenant ${tenant}`,
      );
      if (page.next) line(`more: --after ${page.next}`);
    });

  const wh = nt.command('webhook').description("the tenant's webhook (a Slack incoming webhook URL); shown by host only");
  wh.command('show')
    .description('whether notifications have somewhere to go')
    .requiredOption('--tenant <tenant>', 'the tenant, e.g. acme')
    .option('--json', 'print JSON')
    .action(async (opts: Tenanted) => {
      const tenant = parseTenant(opts.tenant);
      const w = await withRuntime({}, (rt) => notifications(rt).webhook(tenant));
      if (opts.json) return printJson(w);
      if (!w.configured) return line(`${tenant}: no webhook; notifications are recorded only (cadre notify webhook set <url> --tenant ${tenant}, or CADRE_NOTIFY_WEBHOOK_URL)`);
      printFields([['source', w.source === 'tenant' ? 'the tenant' : 'CADRE_NOTIFY_WEBHOOK_URL'], ['host', w.host], ['set by', w.setBy], ['updated', w.updatedAt]]);
    });
  wh.command('set <url>')
    .description("set the tenant's webhook: https:// (http:// only to 127.0.0.1 or localhost)")
    .requiredOption('--tenant <tenant>', 'the tenant, e.g. acme')
    .option('--by <name>', 'who sets it (default: $USER)')
    .action(async (url: string, opts: Tenanted) => {
      const tenant = parseTenant(opts.tenant);
      const by = opts.by || defaultOperator();
      const w = await refusedAsUsage(() => withRuntime({}, (rt) => notifications(rt).setWebhook(tenant, url, by)));
      line(`${tenant}: notifications now go to the webhook at ${w.host ?? '?'} (by ${by})`);
    });
  wh.command('clear')
    .description("remove the tenant's webhook (CADRE_NOTIFY_WEBHOOK_URL applies again, if set)")
    .requiredOption('--tenant <tenant>', 'the tenant, e.g. acme')
    .action(async (opts: Tenanted) => {
      const tenant = parseTenant(opts.tenant);
      const { removed, after } = await withRuntime({}, async (rt) => {
        const n = notifications(rt);
        return { removed: await n.clearWebhook(tenant), after: await n.webhook(tenant) };
      });
      const then = after.configured ? `notifications go to CADRE_NOTIFY_WEBHOOK_URL (${after.host ?? '?'})` : 'notifications are recorded only';
      line(removed ? `${tenant}: webhook removed; ${then}` : `${tenant}: had no webhook of its own; ${then}`);
    });

  const em = program.command('emails').description('emails recorded by email.send');
  em.command('list')
    .description("a tenant's emails, newest first: sent through Gmail, or logged when no transport is configured")
    .requiredOption('--tenant <tenant>', 'the tenant, e.g. acme')
    .option('--status <status>', EMAIL_STATUSES.join(', '), choiceOption(EMAIL_STATUSES))
    .option('--since <iso>', 'emails at or after this time')
    .option('--limit <n>', 'how many (at most 500)', intOption(1, 500), 50)
    .option('--after <cursor>', 'the next page: the cursor the previous one printed')
    .option('--json', 'print JSON')
    .action(async (opts: Listing & { status?: (typeof EMAIL_STATUSES)[number] }) => {
      const tenant = parseTenant(opts.tenant);
      checkSince(opts.since);
      const page = await refusedAsUsage(() => withRuntime({}, (rt) => notifications(rt).emails(tenant, { status: opts.status, since: opts.since, limit: opts.limit, after: opts.after })));
      if (opts.json) return printJson(page);
      printTable(
        [
          { header: 'AT', get: (r) => r.at },
          { header: 'STATUS', get: (r) => r.status },
          { header: 'VIA', get: (r) => r.transport },
          { header: 'TO', get: (r) => (r.to_addresses as string[]).join(', '), max: 40 },
          { header: 'SUBJECT', get: (r) => r.subject, max: 50 },
          { header: 'ID', get: (r) => r.id, max: 80 },
        ],
        page.items,
        `no emails for tenant ${tenant}`,
      );
      if (page.next) line(`more: --after ${page.next}`);
    });
}

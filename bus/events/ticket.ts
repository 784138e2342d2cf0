import { z } from 'zod';

const Id = z.string().min(1).max(200);
const At = z.string();
/** Where an automation is built and deployed. */
const Platform = z.enum(['n8n', 'make', 'zapier', 'other']);

/**
 * Domain events of build tickets (the engineering department's work items):
 * `<prefix>.<tenant>.events.ticket.<name>`. Published by the ticket actor
 * (machines/ticket); who reacts follows reference/scheduled-agents-event-bus-webhooks.md:
 * engineering to `ticket.created` and `ticket.failed`, delivery to `ticket.approved`
 * and `ticket.deployed`, marketing to `ticket.deployed`.
 */
export const TicketEvents = {
  /** A build ticket was opened (submitted for analysis). */
  'ticket.created': z.object({
    ticketId: Id,
    title: z.string(),
    client: z.string(),
    platform: Platform,
    dealId: Id.nullable(),
    owner: z.string().nullable(),
    value: z.number(),
  }),
  /** The reviewer approved the build: it may be deployed. */
  'ticket.approved': z.object({ ticketId: Id, client: z.string(), platform: Platform, by: z.string(), value: z.number() }),
  /** A deployment succeeded: the automation is live at `deployUrl` (when known). */
  'ticket.deployed': z.object({ ticketId: Id, client: z.string(), platform: Platform, deployUrl: z.string().nullable(), value: z.number() }),
  /** A deployment attempt failed; `failedDeploys` counts the failed attempts of the ticket so far. */
  'ticket.failed': z.object({ ticketId: Id, client: z.string(), platform: Platform, error: z.string(), failedDeploys: z.number().int() }),
  /** The build is done and handed over. */
  'ticket.closed': z.object({
    ticketId: Id,
    client: z.string(),
    platform: Platform,
    value: z.number(),
    deployedAt: At.nullable(),
    closedAt: At,
  }),
} as const satisfies Record<string, z.ZodType>;

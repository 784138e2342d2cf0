import { z } from 'zod';

/** Where an automation is built and deployed. */
export const Platform = z.enum(['n8n', 'make', 'zapier', 'other']);
/** Where an automation is built and deployed. */
export type Platform = z.infer<typeof Platform>;

const Name = z.string().min(1).max(200);

const TicketFields = {
  title: z.string().min(1).max(300),
  /** The client's company name. */
  client: Name,
  /** Who to write to at the client. */
  clientContact: z.email().max(320),
  platform: Platform,
  /** The won deal the build came from. */
  dealId: z.string().min(1).max(100),
  /** The engineer building it. */
  owner: Name,
  /** Who reviews it: a person's name or email address (an address lets the engineering agent nudge by email). */
  reviewer: Name,
  value: z.number().nonnegative().max(1e12),
};

/** Events a ticket accepts from outside (the gateway, other actors, agents). */
export const TicketEvent = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('ticket.create'),
    title: TicketFields.title,
    client: TicketFields.client,
    clientContact: TicketFields.clientContact.nullable().optional(),
    platform: TicketFields.platform.default('other'),
    dealId: TicketFields.dealId.nullable().optional(),
    owner: TicketFields.owner.nullable().optional(),
    reviewer: TicketFields.reviewer.nullable().optional(),
    value: TicketFields.value.default(0),
  }),
  /** Starts the analysis of a submitted ticket (an engineer, or the engineering agent when it waited too long). */
  z.object({ type: z.literal('ticket.analyze') }),
  z.object({ type: z.literal('ticket.start_build') }),
  z.object({ type: z.literal('ticket.submit_review') }),
  z.object({ type: z.literal('ticket.approve'), by: Name }),
  /** The reviewer sends the build back: the ticket returns to building. */
  z.object({ type: z.literal('ticket.request_changes'), by: Name.optional(), reason: z.string().min(1).max(2000).optional() }),
  /** The outcome of one deployment attempt. */
  z.object({
    type: z.literal('ticket.deploy'),
    ok: z.boolean(),
    /** Where the deployed automation lives (the workflow or scenario URL). */
    url: z.string().min(1).max(2000).optional(),
    error: z.string().min(1).max(2000).optional(),
  }),
  z.object({ type: z.literal('ticket.close') }),
  /** Changes fields; `null` clears an optional one. */
  z.object({
    type: z.literal('ticket.update'),
    title: TicketFields.title.optional(),
    client: TicketFields.client.optional(),
    clientContact: TicketFields.clientContact.nullable().optional(),
    platform: TicketFields.platform.optional(),
    dealId: TicketFields.dealId.nullable().optional(),
    owner: TicketFields.owner.nullable().optional(),
    reviewer: TicketFields.reviewer.nullable().optional(),
    value: TicketFields.value.optional(),
  }),
]);
/** An event a ticket accepts. */
export type TicketEvent = z.infer<typeof TicketEvent>;

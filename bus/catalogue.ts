import type { z } from 'zod';
import { DealEvents } from './events/deal.ts';
import { OrderEvents } from './events/order.ts';
import { BidEvents } from './events/bid.ts';
import { ContactEvents } from './events/contact.ts';
import { LeadEvents } from './events/lead.ts';
import { AutomationEvents } from './events/automation.ts';
import { ClientEvents } from './events/client.ts';
import { AgentEvents } from './events/agent.ts';
import { TicketEvents } from './events/ticket.ts';

/**
 * The domain event catalogue: one zod schema per event, checked when an actor
 * publishes it (a machine publishing an event outside the catalogue, or with the
 * wrong shape, is a failed transition) and when a consumer receives it.
 * Names follow reference/scheduled-agents-event-bus-webhooks.md and grow with the
 * entities: one file per entity in bus/events/.
 */
export const DomainEvents = {
  ...DealEvents,
  ...OrderEvents,
  ...BidEvents,
  ...ContactEvents,
  ...LeadEvents,
  ...AutomationEvents,
  ...ClientEvents,
  ...AgentEvents,
  ...TicketEvents,
} as const satisfies Record<string, z.ZodType>;

/** A name in the catalogue, `<entity>.<event>`. */
export type DomainEventName = keyof typeof DomainEvents;

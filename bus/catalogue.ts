import { z } from 'zod';

/**
 * The domain event catalogue: one zod schema per event, checked when an actor
 * publishes it (a machine publishing an event outside the catalogue, or with the
 * wrong shape, is a failed transition) and when a consumer receives it.
 * Names follow reference/scheduled-agents-event-bus-webhooks.md and grow with the
 * entities.
 */
export const DomainEvents = {
  'deal.created': z.object({ dealId: z.string(), title: z.string(), value: z.number(), contact: z.string().nullable() }),
  'deal.stage_changed': z.object({ dealId: z.string(), from: z.string(), to: z.string(), value: z.number() }),
  'deal.stalled': z.object({
    dealId: z.string(),
    stage: z.string(),
    days: z.number(),
    lastMovedAt: z.string().nullable(),
    value: z.number(),
    owner: z.string().nullable(),
  }),
  'deal.closed': z.object({
    dealId: z.string(),
    title: z.string(),
    value: z.number(),
    currency: z.string(),
    contact: z.string().nullable(),
    owner: z.string().nullable(),
  }),
  'deal.lost': z.object({ dealId: z.string(), title: z.string(), value: z.number(), reason: z.string() }),
} as const satisfies Record<string, z.ZodType>;

/** A name in the catalogue, `<entity>.<event>`. */
export type DomainEventName = keyof typeof DomainEvents;

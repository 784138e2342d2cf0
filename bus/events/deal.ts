import { z } from 'zod';

/** Domain events of deals: `<prefix>.<tenant>.events.deal.<name>`. */
export const DealEvents = {
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
  /** The follow-up email of a stalled deal went out (its gate reached done). */
  'deal.followed_up': z.object({
    dealId: z.string(),
    title: z.string(),
    contact: z.string(),
    owner: z.string().nullable(),
    stalledSince: z.string().nullable(),
  }),
} as const satisfies Record<string, z.ZodType>;

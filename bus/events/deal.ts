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
} as const satisfies Record<string, z.ZodType>;

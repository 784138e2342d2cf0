import { z } from 'zod';

const Touch = z.object({ type: z.enum(['email', 'call', 'meeting']), at: z.string(), by: z.string() });

/**
 * Domain events of contacts: `<prefix>.<tenant>.events.contact.<name>`, and the
 * engagement clock's, which contacts publish as entity `engagement`:
 * `<prefix>.<tenant>.events.engagement.<name>`.
 */
export const ContactEvents = {
  'contact.created': z.object({
    contactId: z.string(),
    name: z.string(),
    email: z.string().nullable(),
    account: z.string().nullable(),
    owner: z.string().nullable(),
    cadenceDays: z.number().int(),
    nextTouchDue: z.string(),
  }),
  'contact.opted_out': z.object({
    contactId: z.string(),
    name: z.string(),
    email: z.string().nullable(),
    account: z.string().nullable(),
    reason: z.string().nullable(),
  }),
  'contact.opted_in': z.object({ contactId: z.string(), name: z.string(), email: z.string().nullable(), account: z.string().nullable() }),
  'contact.archived': z.object({ contactId: z.string(), name: z.string(), account: z.string().nullable(), reason: z.string().nullable() }),
  /** `cadenceDays` passed without a touch: once per overdue period. */
  'engagement.overdue': z.object({
    contactId: z.string(),
    name: z.string(),
    email: z.string().nullable(),
    account: z.string().nullable(),
    role: z.string().nullable(),
    owner: z.string().nullable(),
    cadenceDays: z.number().int(),
    lastTouch: Touch.nullable(),
    nextTouchDue: z.string(),
    overdueSince: z.string(),
    overdueDays: z.number().int().nonnegative(),
    priority: z.number(),
  }),
  /**
   * An email, call or meeting was recorded. `at` is when it happened; when it is
   * older than `lastTouchAt` it did not move the clock.
   */
  'engagement.touched': z.object({
    contactId: z.string(),
    name: z.string(),
    account: z.string().nullable(),
    owner: z.string().nullable(),
    type: z.enum(['email', 'call', 'meeting']),
    by: z.string(),
    at: z.string(),
    lastTouchAt: z.string().nullable(),
    nextTouchDue: z.string().nullable(),
    wasOverdue: z.boolean(),
    optedOut: z.boolean(),
    touches: z.number().int(),
  }),
} as const satisfies Record<string, z.ZodType>;

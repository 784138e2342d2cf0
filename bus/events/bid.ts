import { z } from 'zod';

const Common = { bidId: z.string(), title: z.string(), client: z.string(), amount: z.number(), currency: z.string() };
const Submitter = z.object({ name: z.string(), email: z.string() });

/** Domain events of bids: `<prefix>.<tenant>.events.bid.<name>`. */
export const BidEvents = {
  'bid.created': z.object({ ...Common, submitter: Submitter, dueDate: z.string().nullable() }),
  'bid.submitted': z.object({ ...Common, submitter: Submitter, dueDate: z.string().nullable(), submittedAt: z.string() }),
  /** The intel request (who else bids, budget, decision date) went out to the submitter. */
  'bid.intel_requested': z.object({ bidId: z.string(), client: z.string(), submitter: Submitter }),
  'bid.intel_received': z.object({
    bidId: z.string(),
    client: z.string(),
    competitors: z.array(z.string()),
    budget: z.number().nullable(),
    decisionDate: z.string().nullable(),
    notes: z.string().nullable(),
  }),
  /** A follow-up went out: `followUp` of `maxFollowUps`. */
  'bid.followed_up': z.object({ bidId: z.string(), client: z.string(), followUp: z.number().int(), maxFollowUps: z.number().int() }),
  /** No follow-up slots left: the bid waits for its outcome. `missed` counts slots whose follow-up did not go out (rejected, expired, blocked, failed). */
  'bid.follow_ups_exhausted': z.object({ ...Common, followUps: z.number().int(), missed: z.number().int(), lastFollowUpAt: z.string().nullable() }),
  'bid.won': z.object({ ...Common, reason: z.string().min(1), followUps: z.number().int() }),
  'bid.lost': z.object({ ...Common, reason: z.string().min(1), winner: z.string().nullable(), followUps: z.number().int() }),
  'bid.withdrawn': z.object({ ...Common, reason: z.string().min(1), submitted: z.boolean() }),
} as const satisfies Record<string, z.ZodType>;

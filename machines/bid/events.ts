import { z } from 'zod';
import { GateRetry } from '../gate.ts';

const Money = z.number().nonnegative().max(1e12);
const IsoDate = z.iso.date();
/** An outcome's reason: required, and not just blanks. */
const Reason = z.string().trim().min(1).max(1000);
const Name = z.string().trim().min(1).max(200);

/** Who the bid went to at the client: confirmations, intel requests and follow-ups are mailed to them. */
export const BidSubmitter = z.object({ name: Name, email: z.email().max(320) });
/** Who the bid went to at the client. */
export type BidSubmitter = z.infer<typeof BidSubmitter>;

const BidFields = {
  title: z.string().trim().min(1).max(300),
  client: Name,
  submitter: BidSubmitter,
  amount: Money,
  currency: z.string().regex(/^[A-Z]{3}$/, 'a three-letter ISO 4217 code, upper case'),
  dueDate: IsoDate,
  /** Days between follow-ups. */
  followUpEveryDays: z.number().int().min(1).max(90),
  /** Follow-up slots before the bid is exhausted (0: none at all). */
  maxFollowUps: z.number().int().min(0).max(50),
};

/** Events a bid accepts from outside. */
export const BidEvent = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('bid.create'),
    title: BidFields.title,
    client: BidFields.client,
    submitter: BidFields.submitter,
    amount: BidFields.amount,
    currency: BidFields.currency.default('USD'),
    dueDate: BidFields.dueDate.optional(),
    followUpEveryDays: BidFields.followUpEveryDays.default(3),
    maxFollowUps: BidFields.maxFollowUps.default(5),
  }),
  z.object({
    type: z.literal('bid.update'),
    title: BidFields.title.optional(),
    client: BidFields.client.optional(),
    submitter: BidFields.submitter.optional(),
    amount: BidFields.amount.optional(),
    currency: BidFields.currency.optional(),
    /** `null` clears it. */
    dueDate: BidFields.dueDate.nullable().optional(),
    followUpEveryDays: BidFields.followUpEveryDays.optional(),
    maxFollowUps: BidFields.maxFollowUps.optional(),
  }),
  z.object({ type: z.literal('bid.submit') }),
  z
    .object({
      type: z.literal('bid.intel'),
      /** Who else bids. */
      competitors: z.array(Name).max(50).optional(),
      budget: Money.optional(),
      decisionDate: IsoDate.optional(),
      notes: z.string().trim().min(1).max(4000).optional(),
    })
    .refine((e) => e.competitors !== undefined || e.budget !== undefined || e.decisionDate !== undefined || e.notes !== undefined, {
      message: 'bid.intel needs at least one of competitors, budget, decisionDate, notes',
    }),
  z.object({
    type: z.literal('bid.won'),
    reason: Reason,
    /** The amount awarded, when it differs from the bid's. */
    amount: Money.optional(),
  }),
  z.object({
    type: z.literal('bid.lost'),
    reason: Reason,
    /** Who won instead, when known. */
    winner: Name.optional(),
  }),
  z.object({ type: z.literal('bid.withdraw'), reason: Reason }),
  GateRetry,
]);
/** An event a bid accepts. */
export type BidEvent = z.infer<typeof BidEvent>;

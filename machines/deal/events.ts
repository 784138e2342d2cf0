import { z } from 'zod';
import { GateRetry } from '../gate.ts';

const Money = z.number().nonnegative().max(1e12);
const IsoDate = z.iso.date();

const DealFields = {
  title: z.string().min(1).max(300),
  value: Money,
  currency: z.string().length(3),
  contact: z.string().min(1).max(200),
  owner: z.string().min(1).max(200),
  expectedCloseDate: IsoDate,
};

/** How a deal was touched. */
export const TouchType = z.enum(['email', 'call', 'meeting', 'note']);

/** Events a deal accepts from outside. */
export const DealEvent = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('deal.create'),
    title: DealFields.title,
    value: DealFields.value.default(0),
    currency: DealFields.currency.default('USD'),
    contact: DealFields.contact.optional(),
    owner: DealFields.owner.optional(),
    expectedCloseDate: DealFields.expectedCloseDate.optional(),
    stallAfterDays: z.number().int().min(1).max(365).optional(),
  }),
  z.object({
    type: z.literal('deal.update'),
    title: DealFields.title.optional(),
    value: DealFields.value.optional(),
    contact: DealFields.contact.optional(),
    owner: DealFields.owner.optional(),
    expectedCloseDate: DealFields.expectedCloseDate.optional(),
  }),
  z.object({ type: z.literal('deal.qualify') }),
  z.object({ type: z.literal('deal.propose') }),
  z.object({ type: z.literal('deal.negotiate') }),
  /** Movement without a stage change. `activity` is the touch type (`type` names the event). */
  z.object({ type: z.literal('deal.touch'), activity: TouchType, by: z.string().max(200).optional() }),
  z.object({ type: z.literal('deal.win') }),
  z.object({ type: z.literal('deal.lose'), reason: z.string().min(1).max(1000) }),
  /** Asks the `follow_up` gate again after it was rejected, expired, blocked or failed. */
  GateRetry,
]);
/** An event a deal accepts. */
export type DealEvent = z.infer<typeof DealEvent>;

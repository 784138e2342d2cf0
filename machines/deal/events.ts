import { z } from 'zod';

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
  z.object({ type: z.literal('deal.touch'), activity: z.enum(['email', 'call', 'meeting', 'note']), by: z.string().max(200).optional() }),
  z.object({ type: z.literal('deal.win') }),
  z.object({ type: z.literal('deal.lose'), reason: z.string().min(1).max(1000) }),
]);
/** An event a deal accepts. */
export type DealEvent = z.infer<typeof DealEvent>;

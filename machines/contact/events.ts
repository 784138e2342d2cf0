import { z } from 'zod';

const Text = z.string().trim().min(1).max(200);

const ContactFields = {
  name: Text,
  email: z.email().max(320),
  phone: z.string().trim().min(3).max(50),
  /** The account (company) the contact belongs to. */
  account: Text,
  /** Job title or role, e.g. "Purchasing Manager": weighs in the priority. */
  role: Text,
  /** Who owns the relationship (a person or an agent). */
  owner: Text,
  /** Days allowed between touches before the contact is overdue. */
  cadenceDays: z.number().int().min(1).max(365),
  /** How much this contact matters, 1 (little) to 5 (key contact). */
  importance: z.number().int().min(1).max(5),
  /** The account's value (e.g. yearly revenue with it), in the tenant's currency. */
  accountValue: z.number().nonnegative().max(1e12),
};

/** How a touch happened. */
export const TouchType = z.enum(['email', 'call', 'meeting']);
/** How a touch happened. */
export type TouchType = z.infer<typeof TouchType>;

/** Events a contact accepts from outside. */
export const ContactEvent = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('contact.create'),
    name: ContactFields.name,
    email: ContactFields.email.optional(),
    phone: ContactFields.phone.optional(),
    account: ContactFields.account.optional(),
    role: ContactFields.role.optional(),
    owner: ContactFields.owner.optional(),
    cadenceDays: ContactFields.cadenceDays.default(21),
    importance: ContactFields.importance.default(3),
    accountValue: ContactFields.accountValue.default(0),
  }),
  /** Changes fields; `null` clears an optional one. A changed `cadenceDays` moves the next touch due. */
  z.object({
    type: z.literal('contact.update'),
    name: ContactFields.name.optional(),
    email: ContactFields.email.nullable().optional(),
    phone: ContactFields.phone.nullable().optional(),
    account: ContactFields.account.nullable().optional(),
    role: ContactFields.role.nullable().optional(),
    owner: ContactFields.owner.nullable().optional(),
    cadenceDays: ContactFields.cadenceDays.optional(),
    importance: ContactFields.importance.optional(),
    accountValue: ContactFields.accountValue.optional(),
  }),
  /**
   * An email, call or meeting with the contact. `occurredAt` is when it happened
   * (default: when the event is processed; a time after that is taken as that).
   * It cannot be called `at`: the runtime stamps every event's `at` with the
   * processing time, and `type` is the event's own name, hence `activity`.
   */
  z.object({
    type: z.literal('contact.touch'),
    activity: TouchType,
    by: Text,
    occurredAt: z.iso.datetime({ offset: true }).optional(),
  }),
  z.object({ type: z.literal('contact.opt_out'), reason: z.string().trim().min(1).max(1000).optional() }),
  z.object({ type: z.literal('contact.opt_in') }),
  /** Recompute overdue days and priority (the agents' hourly cycle sends it). */
  z.object({ type: z.literal('contact.refresh') }),
  z.object({ type: z.literal('contact.archive'), reason: z.string().trim().min(1).max(1000).optional() }),
]);
/** An event a contact accepts. */
export type ContactEvent = z.infer<typeof ContactEvent>;

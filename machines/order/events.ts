import { z } from 'zod';
import { GateRetry } from '../gate.ts';

/** Money as the catalogue and the credit facts state it: never negative. */
const Money = z.number().finite().nonnegative().max(1e9);
/**
 * An order's own price fields (fee, techFee, total) as the ordering system sent
 * them. Signed on purpose: a negative tech fee or a zero fee is a validation
 * exception the order machine reports (and may autofix), not a malformed message
 * the runtime would set aside as a dead letter.
 */
const OrderAmount = z.number().finite().min(-1e9).max(1e9);
const IsoDateTime = z.iso.datetime({ offset: true });

/**
 * A person to reach. Name and channels are checked by the order's requirement
 * rules (machines/order/validate.ts), so an incomplete contact becomes a named
 * exception rather than a refused message; only the sizes are bounded here.
 */
export const Contact = z.object({
  name: z.string().max(200),
  email: z.string().max(320).optional(),
  phone: z.string().max(50).optional(),
});
/** A person to reach. */
export type Contact = z.infer<typeof Contact>;

/** The product catalogue's entry for the order's product, looked up by whoever sends the event. */
export const CatalogueEntry = z.object({
  productCode: z.string().min(1).max(100),
  fee: Money,
  techFee: Money,
  /** The product needs a property inspection (then a property contact is required). */
  inspection: z.boolean(),
});
/** The product catalogue's entry for the order's product. */
export type CatalogueEntry = z.infer<typeof CatalogueEntry>;

/** The client's account facts at the time of the event, for the credit check of bill orders. */
export const ClientFacts = z.object({
  id: z.string().min(1).max(200),
  active: z.boolean(),
  creditLimit: Money,
  outstandingBalance: Money,
  /** Where to send the feedback request when the borrower has no email. */
  email: z.email().max(320).optional(),
});
/** The client's account facts. */
export type ClientFacts = z.infer<typeof ClientFacts>;

export const PaymentMethod = z.enum(['bill', 'card', 'prepaid']);
/** How the order is paid. */
export type PaymentMethod = z.infer<typeof PaymentMethod>;

/** The order's fields, as received and as amended. */
const OrderFields = {
  clientId: z.string().min(1).max(200),
  paymentMethod: PaymentMethod,
  productCode: z.string().min(1).max(100),
  fee: OrderAmount,
  techFee: OrderAmount,
  total: OrderAmount,
  currency: z.string().regex(/^[A-Z]{3}$/),
  propertyAddress: z.string().max(500).nullable(),
  borrower: Contact.nullable(),
  propertyContact: Contact.nullable(),
  /** Whether the product needs an inspection, when no catalogue entry says so. */
  inspection: z.boolean(),
};

/** Events an order accepts from outside (the gateway, other actors, agents). */
export const OrderEvent = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('order.receive'),
    clientId: OrderFields.clientId,
    paymentMethod: OrderFields.paymentMethod,
    productCode: OrderFields.productCode,
    fee: OrderFields.fee,
    techFee: OrderFields.techFee.default(0),
    total: OrderFields.total,
    currency: OrderFields.currency.default('USD'),
    propertyAddress: OrderFields.propertyAddress.default(null),
    borrower: OrderFields.borrower.default(null),
    propertyContact: OrderFields.propertyContact.default(null),
    inspection: OrderFields.inspection.optional(),
    /** The catalogue entry of `productCode`, or null when the product is not in the catalogue. */
    catalogue: CatalogueEntry.nullable().default(null),
    /** The client's account facts, or null when the client is unknown. */
    client: ClientFacts.nullable().default(null),
  }),
  /** Corrects an order held in exceptions (any subset of its fields and fresh facts), and validates it again. */
  z.object({
    type: z.literal('order.amend'),
    clientId: OrderFields.clientId.optional(),
    paymentMethod: OrderFields.paymentMethod.optional(),
    productCode: OrderFields.productCode.optional(),
    fee: OrderFields.fee.optional(),
    techFee: OrderFields.techFee.optional(),
    total: OrderFields.total.optional(),
    currency: OrderFields.currency.optional(),
    propertyAddress: OrderFields.propertyAddress.optional(),
    borrower: OrderFields.borrower.optional(),
    propertyContact: OrderFields.propertyContact.optional(),
    inspection: OrderFields.inspection.optional(),
    catalogue: CatalogueEntry.nullable().optional(),
    client: ClientFacts.nullable().optional(),
  }),
  z.object({ type: z.literal('order.start') }),
  z.object({ type: z.literal('order.deliver') }),
  z.object({
    type: z.literal('order.paid'),
    amount: Money.optional(),
    /** When the payment was made, if not when the event is processed. */
    paidAt: IsoDateTime.optional(),
  }),
  z.object({
    type: z.literal('order.feedback'),
    rating: z.number().int().min(1).max(5),
    comment: z.string().max(5000).optional(),
  }),
  z.object({
    type: z.literal('order.open_case'),
    reason: z.string().min(1).max(1000),
    /** The case's id in the case system; generated (`<orderId>-C<n>`) when absent. */
    caseId: z.string().min(1).max(100).optional(),
  }),
  z.object({
    type: z.literal('order.resolve_case'),
    caseId: z.string().min(1).max(100),
    resolution: z.string().max(1000).optional(),
  }),
  z.object({ type: z.literal('order.cancel'), reason: z.string().min(1).max(1000) }),
  GateRetry,
]);
/** An event an order accepts. */
export type OrderEvent = z.infer<typeof OrderEvent>;

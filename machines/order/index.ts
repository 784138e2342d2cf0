import { defineEntity } from '../entity.ts';
import { orderMachine } from './machine.ts';
import { OrderEvent } from './events.ts';

export { orderMachine, feedbackAddress, FEEDBACK_AFTER_DAYS, type OrderContext, type OrderCase, type OrderFeedback, type FeedbackRequest, type AppliedFix } from './machine.ts';
export { OrderEvent, Contact, CatalogueEntry, ClientFacts, PaymentMethod } from './events.ts';
export { validateOrder, validatePricing, validateCredit, validateRequirements, planFixes, RULES, type Rule, type ValidationFailure, type Fix, type OrderFacts } from './validate.ts';

/** The order entity: `tenant/order/<order id>`. */
export const orderEntity = defineEntity({ kind: 'order', machine: orderMachine, events: OrderEvent });

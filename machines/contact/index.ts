import { defineEntity } from '../entity.ts';
import { contactMachine } from './machine.ts';
import { ContactEvent } from './events.ts';

export { contactMachine, type ContactContext, type ContactTouch } from './machine.ts';
export { ContactEvent, TouchType } from './events.ts';
export { contactPriority, contactWeight, roleFactor, valueFactor, overdueDaysAt, compareContacts, type PriorityInput } from './priority.ts';

/** The contact entity: `tenant/contact/<key>`, the 21-day engagement clock. */
export const contactEntity = defineEntity({ kind: 'contact', machine: contactMachine, events: ContactEvent });

import { defineEntity } from '../entity.ts';
import { ticketMachine } from './machine.ts';
import { TicketEvent } from './events.ts';

export { ticketMachine, TICKET_STATES, DEPLOYMENTS_KEPT, type TicketContext, type TicketState, type Deployment } from './machine.ts';
export { TicketEvent, Platform } from './events.ts';

/**
 * The build ticket entity: `tenant/ticket/<key>`, the engineering department's
 * work item from submission to deployment and close (see machine.ts).
 */
export const ticketEntity = defineEntity({ kind: 'ticket', machine: ticketMachine, events: TicketEvent });

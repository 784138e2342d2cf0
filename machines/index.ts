export { defineEntity, type EntityDefinition, type Stamped } from './entity.ts';
export { runtimeActions, RUNTIME_ACTION, type SendParams, type PublishParams, type EffectParams } from './effects.ts';
export { dealEntity, dealMachine, DealEvent, type DealContext } from './deal/index.ts';
export { gate, GateDecided, GateSettled, GateOutcome, GateEvent, GateRetry, type GateContext, type GateRecord, type GateStatus, type GateParams, type GateMachineEvent, type GateOptions } from './gate.ts';
export { orderEntity, orderMachine, OrderEvent, type OrderContext } from './order/index.ts';
export { bidEntity, bidMachine, BidEvent, type BidContext } from './bid/index.ts';
export { contactEntity, contactMachine, ContactEvent, type ContactContext } from './contact/index.ts';
export { ticketEntity, ticketMachine, TicketEvent, TICKET_STATES, type TicketContext, type TicketState, type Deployment as TicketDeployment } from './ticket/index.ts';

import { defineEntity } from '../entity.ts';
import { bidMachine } from './machine.ts';
import { BidEvent } from './events.ts';

export { bidMachine, type BidContext, type BidIntel } from './machine.ts';
export { BidEvent, BidSubmitter } from './events.ts';

/** The bid entity: `tenant/bid/<key>`. */
export const bidEntity = defineEntity({ kind: 'bid', machine: bidMachine, events: BidEvent });

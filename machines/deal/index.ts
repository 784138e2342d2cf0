import { defineEntity } from '../entity.ts';
import { dealMachine } from './machine.ts';
import { DealEvent } from './events.ts';

export { dealMachine, type DealContext } from './machine.ts';
export { DealEvent } from './events.ts';

/** The deal entity: `tenant/deal/<key>`. */
export const dealEntity = defineEntity({ kind: 'deal', machine: dealMachine, events: DealEvent });

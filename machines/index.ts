export { defineEntity, type EntityDefinition, type Stamped } from './entity.ts';
export { runtimeActions, RUNTIME_ACTION, type SendParams, type PublishParams, type EffectParams } from './effects.ts';
export { dealEntity, dealMachine, DealEvent, type DealContext } from './deal/index.ts';

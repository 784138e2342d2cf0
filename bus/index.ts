export { Token, ActorAddress, formatAddress, parseAddress, partitionOf } from './address.ts';
export { Subjects, subjectMatches } from './subjects.ts';
export {
  MessageId,
  MachineEvent,
  ActorMessage,
  CommitReply,
  DomainEventEnvelope,
  encode,
  decode,
  type DecodeFailure,
} from './envelope.ts';
export type { Bus, Delivery, EventConsumer, PartitionConsumer } from './types.ts';
export { MemoryBus } from './memory.ts';
export { NatsBus, type NatsBusOptions } from './nats.ts';
export { BusError, BusUnavailableError } from './errors.ts';
export { DomainEvents, type DomainEventName } from './catalogue.ts';

/**
 * runtime/inspect: live inspection of committed transitions in the
 * @statelyai/inspect format (docs/inspect.md). The gateway serves it as
 * `GET /v1/inspect` (runtime/gateway/inspect); `cadre inspect` bridges it to the
 * Stately inspector UI.
 */
export { Inspection, InspectionSubscription, MAX_RECORD_BYTES, type InspectOptions, type InspectionTimings } from './inspection.ts';
export {
  INSPECT_VERSION,
  machineDefinition,
  sessionIdOf,
  toInspectionEvents,
  type InspectActorEvent,
  type InspectEventEvent,
  type InspectSnapshotEvent,
  type InspectedMessage,
  type InspectedSnapshot,
  type InspectionEvent,
  type InspectionRecord,
} from './format.ts';

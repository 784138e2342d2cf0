import { createActor, type AnyMachineSnapshot, type AnyStateMachine, type StateValue } from 'xstate';
import type { EntityDefinition } from '../../machines/index.ts';

/** An action the transition asked for, as XState hands it over. */
export interface RequestedAction {
  type: string;
  params: unknown;
  /** The machine supplied code for it (never run by the runtime). */
  hasCode: boolean;
}

/** The outcome of a pure transition. */
export interface Step {
  snapshot: AnyMachineSnapshot;
  actions: RequestedAction[];
}

/**
 * One registered kind of actor: computes transitions purely, with XState's
 * machine logic and an inert actor scope (nothing is executed; the actions are
 * collected), and converts snapshots to and from their persisted JSON. The scope
 * is made once per kind: building one per transition would compute the machine's
 * initial state every time.
 */
export class Kind {
  readonly kind: string;
  readonly version: string;
  readonly machine: AnyStateMachine;
  private collected: RequestedAction[] = [];
  private readonly scope: Parameters<AnyStateMachine['transition']>[2];

  constructor(readonly def: EntityDefinition) {
    this.kind = def.kind;
    this.version = def.version ?? '1';
    this.machine = def.machine;
    const self = createActor(def.machine, { input: this.input({ tenant: '_', key: '_' }) });
    this.scope = {
      self,
      id: '',
      sessionId: '',
      system: self.system,
      logger: () => {},
      defer: () => {},
      emit: () => {},
      stopChild: () => {},
      actionExecutor: (a: { type: string; params?: unknown; exec?: unknown }) => {
        this.collected.push({ type: a.type, params: a.params, hasCode: typeof a.exec === 'function' });
      },
    } as unknown as Parameters<AnyStateMachine['transition']>[2];
  }

  /** The input of a new actor at this address. */
  input(address: { tenant: string; key: string }): unknown {
    return this.def.input ? this.def.input(address) : { tenant: address.tenant, key: address.key };
  }

  /** The initial snapshot of a new actor and the entry actions of its initial state. */
  initial(address: { tenant: string; key: string }): Step {
    return this.collect(() => this.machine.getInitialSnapshot(this.scope, this.input(address)));
  }

  /** Applies one event. Throws what the machine throws. */
  transition(snapshot: AnyMachineSnapshot, event: { type: string }): Step {
    return this.collect(() => this.machine.transition(snapshot, event, this.scope));
  }

  /** Restores a snapshot persisted by `persist`. */
  restore(persisted: unknown): AnyMachineSnapshot {
    return this.machine.resolveState(this.machine.restoreSnapshot(persisted as never, this.scope) as never) as AnyMachineSnapshot;
  }

  /** The JSON form of a snapshot. */
  persist(snapshot: AnyMachineSnapshot): unknown {
    return this.machine.getPersistedSnapshot(snapshot);
  }

  private collect(fn: () => AnyMachineSnapshot): Step {
    this.collected = [];
    try {
      const snapshot = fn();
      return { snapshot, actions: this.collected };
    } finally {
      this.collected = [];
    }
  }
}

/**
 * A state value as one string: `open.lead`; parallel regions joined by `|`
 * (`a.x|b.y`). Used for the `state` column and the `?state=` filter.
 */
export function stateString(value: StateValue): string {
  if (typeof value === 'string') return value;
  const parts = Object.entries(value).map(([k, v]) => {
    const sub = v === undefined ? '' : stateString(v as StateValue);
    return sub ? `${k}.${sub}` : k;
  });
  return parts.length === 1 ? parts[0]! : parts.join('|');
}

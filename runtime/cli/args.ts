/**
 * Parsing of the CLI's arguments: actor addresses, event JSON, numbers and names.
 * Each failure is a UsageError that says what is expected, with an example.
 */
import { InvalidArgumentError } from 'commander';
import { ActorAddress, MachineEvent, Token, type MachineEvent as Event } from '../../bus/index.ts';
import { UsageError } from './errors.ts';

const ADDRESS_HINT = 'actor address must be tenant/kind/key, e.g. acme/deal/D-1042';

/** Parses `tenant/kind/key`; a bad address is a UsageError with the hint. */
export function parseAddressArg(text: string): ActorAddress {
  const parts = text.split('/');
  if (parts.length !== 3) throw new UsageError(`${ADDRESS_HINT} (got "${text}")`);
  const [tenant, kind, key] = parts;
  const parsed = ActorAddress.safeParse({ tenant, kind, key });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new UsageError(`${ADDRESS_HINT}; in "${text}" the ${String(issue?.path[0] ?? 'address')} is invalid: ${issue?.message ?? 'invalid'}`);
  }
  return parsed.data;
}

/** Parses a tenant name (`--tenant`). */
export function parseTenant(text: string): string {
  const parsed = Token.safeParse(text);
  if (!parsed.success) throw new UsageError(`--tenant "${text}" is not a tenant name: use only letters, digits, "_" and "-", e.g. acme`);
  return parsed.data;
}

/** Parses an event given as JSON text: an object with a string `type`. */
export function parseEventArg(text: string): Event {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`the event is not valid JSON (${(err as Error).message}); give an object such as '{"type":"deal.create","title":"Roof"}'`);
  }
  const parsed = MachineEvent.safeParse(value);
  if (!parsed.success || typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new UsageError(`the event must be a JSON object with a string "type", e.g. '{"type":"deal.qualify"}'`);
  }
  return parsed.data;
}

/** A commander option parser for whole numbers in [min, max]. */
export function intOption(min: number, max: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^-?\d+$/.test(value) || !Number.isSafeInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}`);
    }
    return n;
  };
}

/** A commander option parser for one of the given words. */
export function choiceOption<T extends string>(choices: readonly T[]): (value: string) => T {
  return (value) => {
    if (!(choices as readonly string[]).includes(value)) throw new InvalidArgumentError(`expected one of ${choices.join(', ')}`);
    return value as T;
  };
}

/** Who an operator action is recorded as when `--by` is not given: `$USER`, else `operator`. */
export function defaultOperator(): string {
  return process.env.USER || 'operator';
}

import { type ActorAddress, partitionOf } from './address.ts';

/**
 * The subject scheme (docs/architecture.md, "Subjects and streams"):
 *
 * - `<prefix>.<tenant>.mailbox.<partition>.<kind>.<key>`: an actor's mailbox.
 * - `<prefix>.<tenant>.events.<entity>.<event>`: domain events, e.g. `cadre.acme.events.deal.closed`.
 *
 * The prefix is `cadre` in production; tests use their own so they never share streams.
 */
export class Subjects {
  /** @param prefix first subject token @default 'cadre' */
  constructor(
    readonly prefix: string,
    readonly partitions: number,
  ) {}

  /** The mailbox subject of one actor. */
  mailbox(a: ActorAddress): string {
    return `${this.prefix}.${a.tenant}.mailbox.${partitionOf(a, this.partitions)}.${a.kind}.${a.key}`;
  }

  /** The filter matching every mailbox of one partition, across tenants. */
  mailboxPartition(p: number): string {
    return `${this.prefix}.*.mailbox.${p}.>`;
  }

  /** All mailboxes (stream subject). */
  allMailboxes(): string {
    return `${this.prefix}.*.mailbox.>`;
  }

  /** A domain event's subject. */
  event(tenant: string, entity: string, event: string): string {
    return `${this.prefix}.${tenant}.events.${entity}.${event}`;
  }

  /** All domain events (stream subject). */
  allEvents(): string {
    return `${this.prefix}.*.events.>`;
  }

  /** Parses a mailbox subject; undefined when the subject is not one. */
  parseMailbox(subject: string): { tenant: string; partition: number; kind: string; key: string } | undefined {
    const t = subject.split('.');
    if (t.length !== 6 || t[0] !== this.prefix || t[2] !== 'mailbox') return undefined;
    const partition = Number(t[3]);
    if (!Number.isInteger(partition)) return undefined;
    return { tenant: t[1]!, partition, kind: t[4]!, key: t[5]! };
  }
}

/**
 * NATS subject matching: `*` matches one token, `>` one or more trailing tokens.
 */
export function subjectMatches(pattern: string, subject: string): boolean {
  const p = pattern.split('.');
  const s = subject.split('.');
  for (let i = 0; i < p.length; i++) {
    const tok = p[i];
    if (tok === '>') return s.length > i;
    if (i >= s.length) return false;
    if (tok !== '*' && tok !== s[i]) return false;
  }
  return p.length === s.length;
}

import { z } from 'zod';

/**
 * One token of an actor address or a subject: letters, digits, `_` and `-`.
 * Dots, `*`, `>` and whitespace are excluded because they are NATS subject syntax.
 */
export const Token = z
  .string()
  .min(1)
  .max(100)
  .regex(/^[A-Za-z0-9_-]+$/, 'use only letters, digits, "_" and "-"');

/** An actor's address: `tenant/kind/key`, for example `acme/deal/D-1042`. */
export const ActorAddress = z.object({ tenant: Token, kind: Token, key: Token });
/** An actor's address. */
export type ActorAddress = z.infer<typeof ActorAddress>;

/** Formats an address as `tenant/kind/key`. */
export function formatAddress(a: ActorAddress): string {
  return `${a.tenant}/${a.kind}/${a.key}`;
}

/**
 * Parses `tenant/kind/key`; throws a ZodError naming the bad part.
 * @example parseAddress('acme/deal/D-1042')
 */
export function parseAddress(text: string): ActorAddress {
  const [tenant, kind, key, ...rest] = text.split('/');
  if (rest.length > 0) throw new Error(`actor address "${text}" has more than three parts; expected tenant/kind/key`);
  return ActorAddress.parse({ tenant, kind, key });
}

/**
 * The partition an actor belongs to: FNV-1a over `tenant/kind/key`, modulo the
 * partition count. Stable across processes and releases; changing the partition
 * count of a deployment requires draining the mailboxes first (docs/architecture.md, "Subjects and streams").
 */
export function partitionOf(a: ActorAddress, partitions: number): number {
  let h = 0x811c9dc5;
  const s = formatAddress(a);
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h % partitions;
}

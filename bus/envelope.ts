import { z } from 'zod';
import { Token } from './address.ts';

/** Message ids: stable strings chosen by the sender (uuid, or derived from the source). */
export const MessageId = z.string().min(1).max(300);

/** The event a message carries to a machine: a `type` and its payload fields. */
export const MachineEvent = z.looseObject({ type: z.string().min(1).max(200) });
/** An event for a machine. */
export type MachineEvent = z.infer<typeof MachineEvent>;

/**
 * A message to one actor's mailbox. Every message carries its id (deduplication),
 * the tenant, a correlation id (the conversation) and a causation id (the message
 * that caused it, null for messages from outside).
 */
export const ActorMessage = z.object({
  id: MessageId,
  tenant: Token,
  to: z.object({ kind: Token, key: Token }),
  event: MachineEvent,
  correlationId: MessageId,
  causationId: MessageId.nullable(),
  /** `tenant/kind/key` of the sending actor, or `external:<who>` */
  from: z.string().max(300),
  sentAt: z.iso.datetime({ offset: true }),
  /** A core NATS subject (or in-process inbox) to answer once the message is committed. */
  replyTo: z.string().max(300).optional(),
});
/** A message to one actor's mailbox. */
export type ActorMessage = z.infer<typeof ActorMessage>;

/** What the runtime answers on `replyTo` once the message is committed or refused. */
export const CommitReply = z.discriminatedUnion('ok', [
  z.object({
    ok: z.literal(true),
    id: MessageId,
    seq: z.number().int(),
    state: z.string(),
    duplicate: z.boolean(),
  }),
  z.object({ ok: z.literal(false), id: z.string(), code: z.string(), reason: z.string() }),
]);
/** The reply to a committed or refused message. */
export type CommitReply = z.infer<typeof CommitReply>;

/** A domain event published on `<prefix>.<tenant>.events.<entity>.<name>`. */
export const DomainEventEnvelope = z.object({
  id: MessageId,
  tenant: Token,
  entity: Token,
  name: Token,
  data: z.record(z.string(), z.unknown()),
  correlationId: MessageId,
  causationId: MessageId.nullable(),
  /** `tenant/kind/key` of the actor that published it */
  source: z.string().max(300),
  occurredAt: z.iso.datetime({ offset: true }),
});
/** A domain event. */
export type DomainEventEnvelope = z.infer<typeof DomainEventEnvelope>;

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** Encodes a message for the wire (UTF-8 JSON). */
export function encode(value: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(value));
}

/** Why a payload could not be decoded; `code` is stable. */
export type DecodeFailure = { ok: false; code: 'message_too_large' | 'not_utf8' | 'not_json' | 'contains_nul' | 'invalid_message'; reason: string };

/**
 * Decodes and validates bytes from the bus. Never throws: the caller dead-letters
 * a failure with its reason.
 */
export function decode<T>(
  schema: z.ZodType<T>,
  data: Uint8Array,
  maxBytes: number,
): { ok: true; value: T } | DecodeFailure {
  if (data.byteLength > maxBytes) {
    return { ok: false, code: 'message_too_large', reason: `message is ${data.byteLength} bytes; the limit is ${maxBytes}` };
  }
  let text: string;
  try {
    text = decoder.decode(data);
  } catch {
    return { ok: false, code: 'not_utf8', reason: 'message is not valid UTF-8' };
  }
  // PostgreSQL's jsonb cannot hold U+0000; refuse it here rather than fail the commit.
  if (text.includes('\u0000') || text.includes('\\u0000')) {
    return { ok: false, code: 'contains_nul', reason: 'message contains a NUL character (U+0000), which cannot be stored' };
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    return { ok: false, code: 'not_json', reason: `message is not JSON: ${(e as Error).message}` };
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    return { ok: false, code: 'invalid_message', reason: z.prettifyError(parsed.error).slice(0, 2000) };
  }
  return { ok: true, value: parsed.data };
}

import { z } from 'zod';

/**
 * The payloads of the three sources, as zod schemas. Only the fields Cadre reads
 * are named; anything else the source sends is kept (loose objects) and ignored.
 */

const Id = z.union([z.string().min(1).max(200), z.number().int()]).transform(String);
const Loose = z.looseObject({});

/**
 * Pipedrive webhooks v1: `{ event: 'updated.deal', meta: { action, object, id, timestamp, ... }, current, previous, retry }`.
 * `meta.id` is the object's id; there is no delivery id (retries repeat `meta`).
 */
export const PipedriveV1 = z.looseObject({
  event: z.string().max(100).optional(),
  meta: z.looseObject({
    action: z.string().min(1).max(50),
    object: z.string().min(1).max(50),
    id: Id,
    timestamp: z.number().optional(),
    timestamp_micro: z.number().optional(),
  }),
  current: Loose.nullable().optional(),
  previous: Loose.nullable().optional(),
});

/**
 * Pipedrive webhooks v2: `{ meta: { action: 'create'|'change'|'delete', entity, entity_id, id, version: '2.0', ... }, data, previous }`.
 * `meta.id` is the event's id (a uuid); `previous` holds only the fields that changed.
 */
export const PipedriveV2 = z.looseObject({
  meta: z.looseObject({
    action: z.string().min(1).max(50),
    entity: z.string().min(1).max(50),
    entity_id: Id,
    id: Id.optional(),
    version: z.string().regex(/^2(\.|$)/),
    timestamp: z.union([z.string(), z.number()]).optional(),
  }),
  data: Loose.nullable().optional(),
  previous: Loose.nullable().optional(),
});

/** One Pipedrive change, whichever webhook version delivered it. */
export interface PipedriveChange {
  version: 1 | 2;
  /** `create`, `change`, `delete` (v1's added/updated/deleted are translated), or v1's `merge`. */
  action: string;
  /** `deal`, `person`, ... */
  entity: string;
  entityId: string;
  /** The source's own id of this change, when it has one. */
  deliveryId: string | null;
  current: Record<string, unknown> | null;
  /** v1: the whole object before; v2: only the fields that changed. */
  previous: Record<string, unknown> | null;
}

const V1_ACTIONS: Record<string, string> = { added: 'create', updated: 'change', deleted: 'delete', merged: 'merge' };

/** Reads either version of a Pipedrive payload; undefined when it is neither. */
export function pipedriveChange(body: unknown): PipedriveChange | undefined {
  const v2 = PipedriveV2.safeParse(body);
  if (v2.success) {
    const m = v2.data.meta;
    // meta.id is a uuid per event; some senders put the entity id there instead, which is no delivery id.
    const eventId = m.id !== undefined && m.id !== m.entity_id && !/^\d+$/.test(m.id) ? m.id : null;
    const stamp = m.timestamp !== undefined ? String(m.timestamp) : null;
    return {
      version: 2,
      action: m.action,
      entity: m.entity,
      entityId: m.entity_id,
      deliveryId: eventId ?? (stamp ? `v2:${m.entity}.${m.action}:${m.entity_id}:${stamp}` : null),
      current: v2.data.data ?? null,
      previous: v2.data.previous ?? null,
    };
  }
  const v1 = PipedriveV1.safeParse(body);
  if (v1.success) {
    const m = v1.data.meta;
    const stamp = m.timestamp_micro ?? m.timestamp;
    return {
      version: 1,
      action: V1_ACTIONS[m.action] ?? m.action,
      entity: m.object,
      entityId: m.id,
      // Retries repeat meta (the attempt counter is outside it), so this names the change, not the attempt.
      deliveryId: stamp !== undefined ? `v1:${m.object}.${m.action}:${m.id}:${stamp}` : null,
      current: v1.data.current ?? null,
      previous: v1.data.previous ?? null,
    };
  }
  return undefined;
}

const Text = (max: number) => z.string().trim().max(max);

/**
 * A form submission (JSON or url-encoded): a name (or first and last name) and an
 * email address; the rest is optional. `submissionId` (or `id`), when the form
 * sends one, is the delivery id.
 */
export const FormSubmission = z
  .object({
    name: Text(200).optional(),
    firstName: Text(100).optional(),
    lastName: Text(100).optional(),
    email: z.string().trim().pipe(z.email().max(320)),
    company: Text(200).optional(),
    phone: Text(50).optional(),
    // Long messages are cut rather than refused: the lead matters more than its last words.
    message: z.string().trim().optional().transform((m) => (m ? m.slice(0, 5000) : undefined)),
    source: Text(100).optional(),
    submissionId: Id.optional(),
    id: Id.optional(),
  })
  .refine((f) => Boolean(f.name || f.firstName || f.lastName), { message: 'a name (or firstName / lastName) is needed', path: ['name'] });
/** A form submission. */
export type FormSubmission = z.infer<typeof FormSubmission>;

const N8nError = z.looseObject({
  message: z.string().optional(),
  description: z.string().nullable().optional(),
  node: z.looseObject({ name: z.string().optional() }).optional(),
});

/** One item of n8n's Error Trigger output, as an error workflow forwards it (see docs/webhooks.md). */
const N8nErrorTrigger = z.looseObject({
  execution: z
    .looseObject({
      id: Id.optional(),
      url: z.string().nullable().optional(),
      error: N8nError.optional(),
      lastNodeExecuted: z.string().nullable().optional(),
      mode: z.string().optional(),
    })
    .optional(),
  /** Instead of `execution` when the workflow failed in its trigger (no execution was saved). */
  trigger: z.looseObject({ error: N8nError.optional(), mode: z.string().optional() }).optional(),
  workflow: z.looseObject({ id: Id, name: z.string().nullable().optional() }),
});

/** A flat execution report, `{ workflowId, status, executionId, errorMessage }`, as an HTTP Request node may send it. */
const N8nReport = z.looseObject({
  workflowId: Id,
  workflowName: z.string().nullable().optional(),
  status: z.string().min(1).max(50),
  executionId: Id.nullable().optional(),
  errorMessage: z.string().nullable().optional(),
  node: z.string().nullable().optional(),
  url: z.string().nullable().optional(),
  mode: z.string().nullable().optional(),
});

/** What an n8n payload says, whichever shape it came in. */
export interface N8nExecution {
  workflowId: string;
  workflowName: string | null;
  executionId: string | null;
  failed: boolean;
  status: string;
  errorMessage: string | null;
  node: string | null;
  url: string | null;
  mode: string | null;
}

const FAILED = new Set(['error', 'failed', 'crashed']);

/** Reads an n8n payload: an Error Trigger item (or a one-item array of it) or a flat report. */
export const N8nPayload = z
  .union([N8nErrorTrigger, z.array(N8nErrorTrigger).length(1), N8nReport])
  .transform((p): N8nExecution => {
    if ('workflow' in p || Array.isArray(p)) {
      const item = Array.isArray(p) ? p[0]! : (p as z.infer<typeof N8nErrorTrigger>);
      const err = item.execution?.error ?? item.trigger?.error;
      return {
        workflowId: item.workflow.id,
        workflowName: item.workflow.name ?? null,
        executionId: item.execution?.id ?? null,
        failed: true,
        status: 'error',
        errorMessage: err?.message ?? err?.description ?? 'the workflow failed (n8n sent no message)',
        node: err?.node?.name ?? item.execution?.lastNodeExecuted ?? null,
        url: item.execution?.url ?? null,
        mode: item.execution?.mode ?? item.trigger?.mode ?? null,
      };
    }
    const r = p as z.infer<typeof N8nReport>;
    return {
      workflowId: r.workflowId,
      workflowName: r.workflowName ?? null,
      executionId: r.executionId ?? null,
      failed: FAILED.has(r.status.toLowerCase()),
      status: r.status,
      errorMessage: r.errorMessage ?? null,
      node: r.node ?? null,
      url: r.url ?? null,
      mode: r.mode ?? null,
    };
  });

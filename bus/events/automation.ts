import { z } from 'zod';

/**
 * Domain events of client automations (n8n workflows):
 * `<prefix>.<tenant>.events.automation.<name>`. Published by the n8n webhook
 * (runtime/gateway/webhooks, docs/webhooks.md) for the delivery agent.
 */
export const AutomationEvents = {
  /** An execution of a workflow failed. */
  'automation.error': z.object({
    /** The automation platform, e.g. `n8n`. */
    platform: z.string().min(1).max(50),
    workflowId: z.string().min(1).max(200),
    workflowName: z.string().max(300).nullable(),
    /** Null when the workflow failed in its trigger, before an execution was saved. */
    executionId: z.string().max(200).nullable(),
    errorMessage: z.string().max(5000),
    /** The node that failed (or the last one executed). */
    node: z.string().max(300).nullable(),
    /** The execution in the platform's UI. */
    url: z.string().max(2000).nullable(),
    /** How the execution was started (`trigger`, `webhook`, `manual`, ...). */
    mode: z.string().max(50).nullable(),
  }),
} as const satisfies Record<string, z.ZodType>;

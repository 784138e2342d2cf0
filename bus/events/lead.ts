import { z } from 'zod';

/**
 * Domain events of leads: `<prefix>.<tenant>.events.lead.<name>`. Leads are not
 * actors (yet): `lead.qualified` is published by the form webhook
 * (runtime/gateway/webhooks, docs/webhooks.md) for the sales agent to pick up.
 */
export const LeadEvents = {
  /** A form submission with a name and an email address: a lead to follow up. */
  'lead.qualified': z.object({
    name: z.string().min(1).max(200),
    email: z.email().max(320),
    company: z.string().max(200).nullable(),
    phone: z.string().max(50).nullable(),
    message: z.string().max(5000).nullable(),
    /** Where the lead came from, e.g. `website-contact` (the form's own name), default `form`. */
    source: z.string().min(1).max(100),
  }),
} as const satisfies Record<string, z.ZodType>;

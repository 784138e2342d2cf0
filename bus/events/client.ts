import { z } from 'zod';

/**
 * Domain events about clients (the companies the business serves), published by
 * agents (`agent.publish`): the delivery health check flags churn risk, an
 * operator or a later check records a churned client.
 */
export const ClientEvents = {
  'client.at_risk': z.object({ client: z.string().min(1), reason: z.string().min(1), contact: z.string().nullable(), since: z.string().nullable() }),
  'client.churned': z.object({ client: z.string().min(1), reason: z.string().min(1) }),
} as const satisfies Record<string, z.ZodType>;

import type { z } from 'zod';

/** Domain events of orders: `<prefix>.<tenant>.events.order.<name>`. */
export const OrderEvents = {} as const satisfies Record<string, z.ZodType>;

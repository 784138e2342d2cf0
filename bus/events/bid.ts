import type { z } from 'zod';

/** Domain events of bids: `<prefix>.<tenant>.events.bid.<name>`. */
export const BidEvents = {} as const satisfies Record<string, z.ZodType>;

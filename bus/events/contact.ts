import type { z } from 'zod';

/** Domain events of contacts: `<prefix>.<tenant>.events.contact.<name>`. */
export const ContactEvents = {} as const satisfies Record<string, z.ZodType>;

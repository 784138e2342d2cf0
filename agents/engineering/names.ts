/** How tickets and platforms are named in texts for people (delivery and marketing use these too). */

/** `T-1 "Invoice intake" (Cornerstone)`. */
export function ticketName(t: { key: string; title: string; client: string }): string {
  const title = t.title && t.title !== t.key ? ` "${t.title}"` : '';
  return `${t.key}${title} (${t.client})`;
}

/** How the platforms are called in texts for people. */
export function platformName(p: string): string {
  return p === 'make' ? 'Make.com' : p === 'n8n' ? 'n8n' : p === 'zapier' ? 'Zapier' : 'a custom platform';
}

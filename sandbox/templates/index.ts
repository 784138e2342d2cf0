/**
 * The allow-list of templates, by name. Adding a template means adding its file
 * here; jobs naming anything else fail with SANDBOX_UNKNOWN_TEMPLATE.
 */
import { bidComparisonTemplate } from './bid-comparison.ts';
import { docxToTextTemplate } from './docx-to-text.ts';
import { engagementComplianceTemplate } from './engagement-compliance.ts';
import { extractContactsTemplate } from './extract-contacts.ts';
import { invoiceLineItemsTemplate } from './invoice-line-items.ts';
import { normalizeOrdersTemplate } from './normalize-orders.ts';
import { parseCsvTemplate } from './parse-csv.ts';
import { pdfToTextTemplate } from './pdf-to-text.ts';
import type { ScriptTemplate } from './template.ts';

const ALL: readonly ScriptTemplate[] = [
  parseCsvTemplate,
  extractContactsTemplate,
  normalizeOrdersTemplate,
  bidComparisonTemplate,
  engagementComplianceTemplate,
  invoiceLineItemsTemplate,
  docxToTextTemplate,
  pdfToTextTemplate,
];

/** Every template, by name. */
export const TEMPLATES: ReadonlyMap<string, ScriptTemplate> = new Map(ALL.map((t) => [t.name, t]));

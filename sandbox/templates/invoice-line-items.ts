/**
 * `invoice_line_item_extractor`: reads line items and totals from an invoice's
 * text. A line item is a line, before the first summary line, that ends in an
 * amount, optionally preceded by a unit price and a quantity (`2 $10.00 $20.00`,
 * `3 @ $120.00 $360.00`, `10 hrs $150.00 $1,500.00`); without a unit price the
 * quantity is 1. Summary lines (subtotal, tax/VAT/GST, shipping/freight, discount,
 * total/amount due) give the stated totals. Every quantity × unit price and the
 * totals are checked; disagreements are listed in `issues`.
 */
import { z } from 'zod';
import { TEMPLATE_PRELUDE } from '../js/helpers.ts';
import { defineTemplate } from './template.ts';

const Params = z
  .object({
    /** Name of the input to read; the first text or file input by default. */
    input: z.string().min(1).optional(),
    /** Currency of the invoice; taken from the first amount with a symbol or code when left out. */
    currency: z.string().regex(/^[A-Z]{3}$/).optional(),
    decimalSeparator: z.enum(['.', ',']).default('.'),
    /** Largest difference, in cents, still counted as a match. */
    toleranceCents: z.number().int().min(0).max(100).default(1),
  })
  .strict();

const Cents = z.number().int();

const Output = z
  .object({
    currency: z.string(),
    lineItems: z.array(
      z
        .object({
          line: z.number().int(),
          description: z.string(),
          quantity: z.number(),
          unitPriceCents: Cents,
          amountCents: Cents,
          amountMatches: z.boolean(),
        })
        .strict(),
    ),
    totals: z
      .object({
        subtotalCents: Cents.nullable(),
        taxCents: Cents.nullable(),
        shippingCents: Cents.nullable(),
        discountCents: Cents.nullable(),
        totalCents: Cents.nullable(),
      })
      .strict(),
    checks: z
      .object({
        lineItemsSumCents: Cents,
        computedTotalCents: Cents,
        subtotalMatches: z.boolean().nullable(),
        totalMatches: z.boolean().nullable(),
      })
      .strict(),
    issues: z.array(z.object({ line: z.number().int(), message: z.string() }).strict()),
  })
  .strict();

const SOURCE = String.raw`
var SUMMARY = [
  ['subtotal', /^(?:sub-?total|net total|net amount)\b/i],
  ['tax', /^(?:tax|sales tax|vat|gst|hst)\b/i],
  ['shipping', /^(?:shipping|freight|delivery|s&h)\b/i],
  ['discount', /^(?:less:?\s*)?discount\b/i],
  ['total', /^(?:total|grand total|invoice total|total due|amount due|balance due)\b/i],
  ['ignored', /^(?:payments?|amount paid|paid|credits?|deposit)\b/i],
];
var QTY_RE = /^\d+(?:[.,]\d+)?x?$/i;
var text = inputText(pickInput(inputs, params.input, ['text', 'file'])).replace(/\r\n?/g, '\n');
var lines = text.split('\n');
var currency = params.currency || null, tolerance = params.toleranceCents;
var items = [], issues = [], totals = { subtotal: null, tax: null, shipping: null, discount: null, total: null };
var inSummary = false;

function isMoneyToken(token) {
  var t = token.replace(/^\(|\)$/g, '');
  if (!/\d/.test(t)) return false;
  var symbol = /[$€£]/.test(t), decimals = params.decimalSeparator === ',' ? /,\d{2}$/.test(t) : /\.\d{2}$/.test(t);
  return (symbol || decimals) && /^-?[$€£]?-?[\d.,']+$/.test(t);
}
function money(token) {
  var m = parseMoney(token, params.decimalSeparator);
  if (m && m.currency && !currency) currency = m.currency;
  return m ? m.cents : null;
}
function summaryKind(description) {
  var d = description.replace(/^[\s*-]+/, '');
  for (var i = 0; i < SUMMARY.length; i++) if (SUMMARY[i][1].test(d)) return SUMMARY[i][0];
  return null;
}

function parseLine(raw) {
  var tokens = raw.replace(/\b(?:USD|EUR|GBP)\s+(?=[-\d$€£(])/g, '').trim().split(/\s+/);
  if (tokens.length < 2 || !isMoneyToken(tokens[tokens.length - 1])) return null;
  var k = tokens.length - 2, unit = null, qty = null;
  if (isMoneyToken(tokens[k])) { unit = tokens[k]; k--; }
  if (unit !== null) {
    if (k >= 1 && (tokens[k] === '@' || tokens[k].toLowerCase() === 'x')) k--;
    if (k >= 1 && /^[A-Za-z]{1,5}\.?$/.test(tokens[k]) && QTY_RE.test(tokens[k - 1])) k--;
    if (k >= 1 && QTY_RE.test(tokens[k])) { qty = tokens[k].replace(/x$/i, '').replace(',', '.'); k--; }
  }
  var description = tokens.slice(0, k + 1).join(' ').replace(/[:\s]+$/, '');
  if (!/[A-Za-z]/.test(description)) return null;
  return { description: description, qty: qty, unit: unit, amount: tokens[tokens.length - 1] };
}

function addSummary(kind, cents, lineNo, description) {
  if (kind === 'ignored') return;
  var value = kind === 'discount' ? Math.abs(cents) : cents;
  if (totals[kind] === null) totals[kind] = value;
  else if (totals[kind] !== value) issues.push({ line: lineNo, message: description + ' ' + formatMoney(value, currency || 'USD') + ' differs from the ' + kind + ' stated earlier' });
}

function addItem(parsed, lineNo) {
  var amount = money(parsed.amount), unitCents = parsed.unit === null ? amount : money(parsed.unit);
  var quantity = parsed.qty === null || parsed.unit === null ? 1 : Number(parsed.qty);
  var expected = Math.round(quantity * unitCents), matches = Math.abs(expected - amount) <= tolerance;
  items.push({ line: lineNo, description: parsed.description, quantity: quantity, unitPriceCents: unitCents, amountCents: amount, amountMatches: matches });
  if (!matches) {
    var c = currency || 'USD';
    issues.push({ line: lineNo, message: parsed.description + ': ' + quantity + ' × ' + formatMoney(unitCents, c) + ' = ' + formatMoney(expected, c) + ', not ' + formatMoney(amount, c) });
  }
}

lines.forEach(function (raw, index) {
  var parsed = parseLine(raw), lineNo = index + 1;
  if (!parsed) return;
  var kind = summaryKind(parsed.description);
  if (kind) { inSummary = true; var cents = money(parsed.amount); if (cents !== null) addSummary(kind, cents, lineNo, parsed.description); return; }
  if (inSummary) { issues.push({ line: lineNo, message: 'amount after the totals ignored: ' + raw.trim() }); return; }
  if (money(parsed.amount) === null || (parsed.unit !== null && money(parsed.unit) === null)) {
    issues.push({ line: lineNo, message: 'cannot read the amounts on: ' + raw.trim() });
    return;
  }
  addItem(parsed, lineNo);
});

currency = currency || 'USD';
var sum = items.reduce(function (s, item) { return s + item.amountCents; }, 0);
var base = totals.subtotal === null ? sum : totals.subtotal;
var computed = base + (totals.tax || 0) + (totals.shipping || 0) - (totals.discount || 0);
var subtotalMatches = totals.subtotal === null ? null : Math.abs(totals.subtotal - sum) <= tolerance;
var totalMatches = totals.total === null ? null : Math.abs(totals.total - computed) <= tolerance;
if (subtotalMatches === false) issues.push({ line: 0, message: 'subtotal ' + formatMoney(totals.subtotal, currency) + ' differs from the line items\' sum ' + formatMoney(sum, currency) });
if (totalMatches === false) issues.push({ line: 0, message: 'total ' + formatMoney(totals.total, currency) + ' differs from the computed ' + formatMoney(computed, currency) });

return {
  currency: currency,
  lineItems: items,
  totals: { subtotalCents: totals.subtotal, taxCents: totals.tax, shippingCents: totals.shipping, discountCents: totals.discount, totalCents: totals.total },
  checks: { lineItemsSumCents: sum, computedTotalCents: computed, subtotalMatches: subtotalMatches, totalMatches: totalMatches },
  issues: issues,
};
`;

/** Extracts and checks invoice line items. */
export const invoiceLineItemsTemplate = defineTemplate({
  name: 'invoice_line_item_extractor',
  description: 'Extract line items (description, quantity, unit price, amount) and totals from invoice text, checking the arithmetic.',
  params: Params,
  output: Output,
  source: TEMPLATE_PRELUDE + SOURCE,
});

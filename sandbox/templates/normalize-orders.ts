/**
 * `normalize_orders_export`: turns an orders export (CSV, or JSON records) into
 * normalised orders: trimmed ids, dates as `YYYY-MM-DD`, totals in integer cents,
 * upper-case currency codes and one of a fixed set of statuses. Columns are found
 * by common names or given in `params.columns`. Rows that cannot be normalised are
 * reported with every reason, never guessed at.
 */
import { z } from 'zod';
import { TEMPLATE_PRELUDE } from '../js/helpers.ts';
import { defineTemplate } from './template.ts';

const STATUSES = ['pending', 'paid', 'fulfilled', 'cancelled', 'refunded'] as const;

const Params = z
  .object({
    /** Name of the input to read; the first csv, text, file or json input by default. */
    input: z.string().min(1).optional(),
    delimiter: z.enum([',', ';', '\t', '|']).default(','),
    /** Column names, where the export's own are not recognised. */
    columns: z
      .object({
        id: z.string().min(1).optional(),
        date: z.string().min(1).optional(),
        customer: z.string().min(1).optional(),
        total: z.string().min(1).optional(),
        currency: z.string().min(1).optional(),
        status: z.string().min(1).optional(),
      })
      .strict()
      .default({}),
    /** How to read ambiguous dates such as 03/04/2024. */
    dateOrder: z.enum(['MDY', 'DMY']).default('MDY'),
    decimalSeparator: z.enum(['.', ',']).default('.'),
    defaultCurrency: z.string().regex(/^[A-Z]{3}$/).default('USD'),
    /** Extra raw status values (case-insensitive) and what they mean; overrides the built-in map. */
    statusMap: z.record(z.string(), z.enum(STATUSES)).default({}),
  })
  .strict();

const Output = z
  .object({
    columns: z.record(z.enum(['id', 'date', 'customer', 'total', 'currency', 'status']), z.string().nullable()),
    orders: z.array(
      z
        .object({
          line: z.number().int(),
          id: z.string(),
          date: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
          customer: z.string().nullable(),
          totalCents: z.number().int(),
          currency: z.string().regex(/^[A-Z]{3}$/),
          status: z.enum(STATUSES).nullable(),
        })
        .strict(),
    ),
    failed: z.array(z.object({ line: z.number().int(), id: z.string().nullable(), reasons: z.array(z.string()) }).strict()),
    summary: z
      .object({
        rows: z.number().int(),
        normalized: z.number().int(),
        failed: z.number().int(),
        totalCentsByCurrency: z.record(z.string(), z.number().int()),
      })
      .strict(),
  })
  .strict();

const SOURCE = String.raw`
var STATUS_WORDS = {
  pending: ['pending', 'new', 'open', 'unpaid', 'awaiting payment', 'processing', 'on hold'],
  paid: ['paid', 'payment received', 'authorized', 'authorised', 'confirmed'],
  fulfilled: ['fulfilled', 'shipped', 'delivered', 'complete', 'completed', 'closed'],
  cancelled: ['cancelled', 'canceled', 'void', 'voided', 'rejected'],
  refunded: ['refunded', 'partially refunded', 'returned', 'chargeback'],
};
var statuses = new Map();
Object.keys(STATUS_WORDS).forEach(function (status) {
  STATUS_WORDS[status].forEach(function (word) { statuses.set(word, status); });
});
Object.keys(params.statusMap).forEach(function (word) { statuses.set(word.trim().toLowerCase(), params.statusMap[word]); });

var input = pickInput(inputs, params.input, ['csv', 'text', 'file', 'json']);
var table = tableFromInput(input, params.delimiter);
var given = params.columns;
var cols = {
  id: findColumn(table.columns, given.id, ['order id', 'order_id', 'order number', 'order no', 'order #', 'order', 'id', 'name']),
  date: findColumn(table.columns, given.date, ['order date', 'date', 'created at', 'created', 'placed at', 'processed at']),
  customer: findColumn(table.columns, given.customer, ['customer', 'customer name', 'buyer', 'billing name', 'customer email', 'email']),
  total: findColumn(table.columns, given.total, ['total', 'order total', 'grand total', 'total price', 'amount', 'total amount']),
  currency: findColumn(table.columns, given.currency, ['currency', 'currency code']),
  status: findColumn(table.columns, given.status, ['status', 'order status', 'financial status', 'payment status', 'state']),
};
if (table.rows.length > 0 && (!cols.id || !cols.date || !cols.total)) {
  throw new Error('could not find the id, date and total columns among ' + JSON.stringify(table.columns) + '; name them in params.columns');
}

var orders = [], seen = new Map(), totals = {};
var failed = table.malformed.map(function (m) { return { line: m.line, id: null, reasons: [m.reason] }; });

function readStatus(values, reasons) {
  if (!cols.status) return null;
  var raw = cellText(values[cols.status]);
  if (!raw) { reasons.push('status: missing'); return null; }
  var status = statuses.get(raw.toLowerCase());
  if (!status) reasons.push('status: unknown value ' + JSON.stringify(raw));
  return status || null;
}

function readOrder(row) {
  var v = row.values, reasons = [];
  var id = cellText(v[cols.id]);
  if (!id) reasons.push('id: missing');
  else if (seen.has(id)) reasons.push('id: duplicate of line ' + seen.get(id));
  else seen.set(id, row.line);
  var rawDate = cellText(v[cols.date]), date = parseDate(rawDate, params.dateOrder);
  if (!date) reasons.push(rawDate ? 'date: cannot read ' + JSON.stringify(rawDate) : 'date: missing');
  var rawTotal = v[cols.total], money = parseMoney(typeof rawTotal === 'number' ? rawTotal : cellText(rawTotal), params.decimalSeparator);
  if (!money) reasons.push(cellText(rawTotal) ? 'total: cannot read ' + JSON.stringify(cellText(rawTotal)) : 'total: missing');
  var currency = (cols.currency && cellText(v[cols.currency]).toUpperCase()) || (money && money.currency) || params.defaultCurrency;
  if (!/^[A-Z]{3}$/.test(currency)) reasons.push('currency: ' + JSON.stringify(currency) + ' is not a currency code');
  var status = readStatus(v, reasons);
  if (reasons.length > 0) { failed.push({ line: row.line, id: id || null, reasons: reasons }); return; }
  var customer = cols.customer ? cellText(v[cols.customer]) || null : null;
  orders.push({ line: row.line, id: id, date: date, customer: customer, totalCents: money.cents, currency: currency, status: status });
  totals[currency] = (totals[currency] || 0) + money.cents;
}

table.rows.forEach(readOrder);
failed.sort(function (a, b) { return a.line - b.line; });
return {
  columns: cols,
  orders: orders,
  failed: failed,
  summary: { rows: orders.length + failed.length, normalized: orders.length, failed: failed.length, totalCentsByCurrency: totals },
};
`;

/** Normalises an orders export. */
export const normalizeOrdersTemplate = defineTemplate({
  name: 'normalize_orders_export',
  description: 'Normalise a CSV or JSON orders export: ISO dates, money in cents, mapped statuses; failing rows reported with reasons.',
  params: Params,
  output: Output,
  source: TEMPLATE_PRELUDE + SOURCE,
});

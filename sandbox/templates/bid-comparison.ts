/**
 * `bid_comparison_table`: ranks vendor bids (JSON records or CSV) by price (lowest
 * first; ties by higher score, then vendor) or by score (highest first; ties by
 * lower price, then vendor), shows each bid's difference from the lowest price,
 * and writes the table as a Markdown or CSV artifact. Bids without a vendor, with
 * an unreadable price or in another currency are listed as invalid, not ranked.
 */
import { z } from 'zod';
import { TEMPLATE_PRELUDE } from '../js/helpers.ts';
import { defineTemplate } from './template.ts';

const Params = z
  .object({
    /** Name of the input to read; the first json, csv, text or file input by default. */
    input: z.string().min(1).optional(),
    delimiter: z.enum([',', ';', '\t', '|']).default(','),
    sortBy: z.enum(['price', 'score']).default('price'),
    format: z.enum(['markdown', 'csv']).default('markdown'),
    /** Every bid must be in this currency. */
    currency: z.string().regex(/^[A-Z]{3}$/).default('USD'),
    title: z.string().min(1).max(200).default('Bid comparison'),
    columns: z
      .object({
        vendor: z.string().min(1).optional(),
        price: z.string().min(1).optional(),
        leadTime: z.string().min(1).optional(),
        score: z.string().min(1).optional(),
        notes: z.string().min(1).optional(),
      })
      .strict()
      .default({}),
  })
  .strict();

const Row = z
  .object({
    rank: z.number().int(),
    vendor: z.string(),
    priceCents: z.number().int(),
    leadTimeDays: z.number().int().nullable(),
    score: z.number().nullable(),
    deltaCents: z.number().int(),
    deltaPct: z.number().nullable(),
    notes: z.string().nullable(),
  })
  .strict();

const Output = z
  .object({
    sortBy: z.enum(['price', 'score']),
    currency: z.string(),
    rows: z.array(Row),
    lowestPrice: z.object({ vendor: z.string(), priceCents: z.number().int() }).strict().nullable(),
    bestScore: z.object({ vendor: z.string(), score: z.number() }).strict().nullable(),
    invalid: z.array(z.object({ line: z.number().int(), vendor: z.string().nullable(), reason: z.string() }).strict()),
  })
  .strict();

const SOURCE = String.raw`
var input = pickInput(inputs, params.input, ['json', 'csv', 'text', 'file']);
var table = tableFromInput(input, params.delimiter);
var given = params.columns;
var cols = {
  vendor: findColumn(table.columns, given.vendor, ['vendor', 'supplier', 'bidder', 'company', 'name']),
  price: findColumn(table.columns, given.price, ['price', 'bid', 'amount', 'total', 'bid amount', 'total price']),
  leadTime: findColumn(table.columns, given.leadTime, ['lead time days', 'lead time', 'leadtimedays', 'delivery days', 'days']),
  score: findColumn(table.columns, given.score, ['score', 'rating', 'quality score']),
  notes: findColumn(table.columns, given.notes, ['notes', 'comments', 'remarks']),
};
var invalid = table.malformed.map(function (m) { return { line: m.line, vendor: null, reason: m.reason }; });

function readDays(raw) {
  var s = cellText(raw).toLowerCase(), m = /^(\d+)\s*(d|day|days|w|wk|wks|week|weeks)?$/.exec(s);
  if (!m) return null;
  return /^w/.test(m[2] || '') ? Number(m[1]) * 7 : Number(m[1]);
}

function readBid(row) {
  var v = row.values, vendor = cols.vendor ? cellText(v[cols.vendor]) : '';
  var fail = function (reason) { invalid.push({ line: row.line, vendor: vendor || null, reason: reason }); };
  if (!vendor) return fail('vendor: missing');
  var rawPrice = cols.price ? v[cols.price] : undefined;
  var money = parseMoney(typeof rawPrice === 'number' ? rawPrice : cellText(rawPrice), '.');
  if (!money) return fail('price: cannot read ' + JSON.stringify(cellText(rawPrice)));
  if (money.currency && money.currency !== params.currency) return fail('price is in ' + money.currency + ', not ' + params.currency);
  var leadRaw = cols.leadTime ? cellText(v[cols.leadTime]) : '', leadTimeDays = leadRaw ? readDays(leadRaw) : null;
  if (leadRaw && leadTimeDays === null) return fail('lead time: cannot read ' + JSON.stringify(leadRaw));
  var scoreRaw = cols.score ? cellText(v[cols.score]) : '', score = scoreRaw === '' ? null : Number(scoreRaw);
  if (score !== null && !(score >= 0 && score <= 100)) return fail('score: expected 0 to 100, got ' + JSON.stringify(scoreRaw));
  var notes = cols.notes ? cellText(v[cols.notes]) || null : null;
  return { vendor: vendor, priceCents: money.cents, leadTimeDays: leadTimeDays, score: score, notes: notes };
}

function byVendor(a, b) { return a.vendor < b.vendor ? -1 : a.vendor > b.vendor ? 1 : 0; }
function byScore(a, b) { return (b.score === null ? -1 : b.score) - (a.score === null ? -1 : a.score); }
function byPrice(a, b) { return a.priceCents - b.priceCents; }
var order = params.sortBy === 'price' ? [byPrice, byScore, byVendor] : [byScore, byPrice, byVendor];

var bids = table.rows.map(readBid).filter(Boolean);
bids.sort(function (a, b) {
  for (var i = 0; i < order.length; i++) { var d = order[i](a, b); if (d !== 0) return d; }
  return 0;
});
var lowest = bids.length ? bids.reduce(function (m, b) { return b.priceCents < m.priceCents ? b : m; }) : null;
var scored = bids.filter(function (b) { return b.score !== null; });
var best = scored.length ? scored.reduce(function (m, b) { return b.score > m.score ? b : m; }) : null;
var rows = bids.map(function (b, i) {
  var delta = b.priceCents - lowest.priceCents;
  return {
    rank: i + 1, vendor: b.vendor, priceCents: b.priceCents, leadTimeDays: b.leadTimeDays, score: b.score,
    deltaCents: delta, deltaPct: percent(delta, lowest.priceCents), notes: b.notes,
  };
});

function decimal(cents) { var s = formatMoney(cents, 'XXX'); return s.slice(0, s.length - 4).replace(/,/g, ''); }
function deltaText(row) {
  if (row.deltaCents === 0) return '—';
  return '+' + formatMoney(row.deltaCents, params.currency) + (row.deltaPct === null ? '' : ' (+' + row.deltaPct + '%)');
}
if (params.format === 'markdown') {
  var md = '# ' + params.title + '\n\n' + mdTable(
    ['Rank', 'Vendor', 'Price', 'vs. lowest', 'Lead time (days)', 'Score', 'Notes'],
    rows.map(function (r) {
      return [r.rank, r.vendor, formatMoney(r.priceCents, params.currency), deltaText(r), r.leadTimeDays === null ? '' : r.leadTimeDays, r.score === null ? '' : r.score, r.notes || ''];
    }),
    [true, false, true, true, true, true, false]);
  api.artifact('bid-comparison.md', 'text/markdown', md);
} else {
  api.artifact('bid-comparison.csv', 'text/csv', toCsv(
    ['rank', 'vendor', 'price', 'currency', 'delta', 'delta_pct', 'lead_time_days', 'score', 'notes'],
    rows.map(function (r) { return [r.rank, r.vendor, decimal(r.priceCents), params.currency, decimal(r.deltaCents), r.deltaPct, r.leadTimeDays, r.score, r.notes]; })));
}
return {
  sortBy: params.sortBy, currency: params.currency, rows: rows,
  lowestPrice: lowest && { vendor: lowest.vendor, priceCents: lowest.priceCents },
  bestScore: best && { vendor: best.vendor, score: best.score },
  invalid: invalid.sort(function (a, b) { return a.line - b.line; }),
};
`;

/** Builds a ranked bid comparison table. */
export const bidComparisonTemplate = defineTemplate({
  name: 'bid_comparison_table',
  description: 'Rank vendor bids by price or score with differences from the lowest bid; writes a Markdown or CSV table.',
  params: Params,
  output: Output,
  source: TEMPLATE_PRELUDE + SOURCE,
});

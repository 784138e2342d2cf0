/**
 * `engagement_compliance_report`: checks contacts against the engagement rule
 * (every contact touched within `thresholdDays`, 21 by default) as of the date
 * given in `asOf` (scripts have no clock). Reports days since the last touch, days
 * overdue, the compliance percentage overall and per owner, and the worst
 * offenders (never touched first, then most overdue), plus a Markdown report.
 */
import { z } from 'zod';
import { TEMPLATE_PRELUDE } from '../js/helpers.ts';
import { defineTemplate } from './template.ts';

const IsoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'expected YYYY-MM-DD');

const Params = z
  .object({
    /** Name of the input to read; the first csv, json, text or file input by default. */
    input: z.string().min(1).optional(),
    delimiter: z.enum([',', ';', '\t', '|']).default(','),
    /** The day the report is for, YYYY-MM-DD. */
    asOf: IsoDate,
    thresholdDays: z.number().int().min(0).max(3650).default(21),
    worstCount: z.number().int().min(0).max(1000).default(5),
    dateOrder: z.enum(['MDY', 'DMY']).default('MDY'),
    columns: z
      .object({
        name: z.string().min(1).optional(),
        email: z.string().min(1).optional(),
        lastTouch: z.string().min(1).optional(),
        owner: z.string().min(1).optional(),
      })
      .strict()
      .default({}),
  })
  .strict();

const ContactRow = z
  .object({
    line: z.number().int(),
    name: z.string().nullable(),
    email: z.string().nullable(),
    owner: z.string().nullable(),
    lastTouch: IsoDate.nullable(),
    daysSince: z.number().int().nullable(),
    overdueDays: z.number().int().nullable(),
    compliant: z.boolean(),
  })
  .strict();

const Output = z
  .object({
    asOf: IsoDate,
    thresholdDays: z.number().int(),
    total: z.number().int(),
    compliant: z.number().int(),
    nonCompliant: z.number().int(),
    neverTouched: z.number().int(),
    compliancePct: z.number().nullable(),
    contacts: z.array(ContactRow),
    worstOffenders: z.array(ContactRow),
    byOwner: z.array(
      z.object({ owner: z.string(), total: z.number().int(), compliant: z.number().int(), compliancePct: z.number().nullable() }).strict(),
    ),
    invalid: z.array(z.object({ line: z.number().int(), reason: z.string() }).strict()),
  })
  .strict();

const SOURCE = String.raw`
var asOf = parseDate(params.asOf, 'MDY');
if (!asOf) throw new Error('asOf is not a real date: ' + params.asOf);
var today = dayNumber(asOf), threshold = params.thresholdDays;
var input = pickInput(inputs, params.input, ['csv', 'json', 'text', 'file']);
var table = tableFromInput(input, params.delimiter);
var given = params.columns;
var cols = {
  name: findColumn(table.columns, given.name, ['name', 'contact', 'contact name', 'full name']),
  email: findColumn(table.columns, given.email, ['email', 'e-mail', 'email address']),
  lastTouch: findColumn(table.columns, given.lastTouch, ['last touch', 'last touched', 'last contact', 'last contacted', 'last activity', 'last touch date', 'last engagement']),
  owner: findColumn(table.columns, given.owner, ['owner', 'account owner', 'rep', 'assigned to']),
};
if (table.rows.length > 0 && !cols.lastTouch) {
  throw new Error('could not find the last-touch column among ' + JSON.stringify(table.columns) + '; name it in params.columns.lastTouch');
}
var invalid = table.malformed.slice(), contacts = [];

table.rows.forEach(function (row) {
  var v = row.values, raw = cellText(v[cols.lastTouch]), lastTouch = raw ? parseDate(raw, params.dateOrder) : null;
  if (raw && !lastTouch) { invalid.push({ line: row.line, reason: 'last touch: cannot read ' + JSON.stringify(raw) }); return; }
  if (lastTouch && dayNumber(lastTouch) > today) { invalid.push({ line: row.line, reason: 'last touch ' + lastTouch + ' is after asOf ' + asOf }); return; }
  var daysSince = lastTouch ? today - dayNumber(lastTouch) : null;
  contacts.push({
    line: row.line,
    name: cols.name ? cellText(v[cols.name]) || null : null,
    email: cols.email ? cellText(v[cols.email]) || null : null,
    owner: cols.owner ? cellText(v[cols.owner]) || null : null,
    lastTouch: lastTouch,
    daysSince: daysSince,
    overdueDays: daysSince === null ? null : Math.max(0, daysSince - threshold),
    compliant: daysSince !== null && daysSince <= threshold,
  });
});

function label(c) { return c.name || c.email || ''; }
function worstFirst(a, b) {
  var ao = a.overdueDays === null ? Infinity : a.overdueDays, bo = b.overdueDays === null ? Infinity : b.overdueDays;
  if (ao !== bo) return bo - ao;
  return label(a) < label(b) ? -1 : label(a) > label(b) ? 1 : a.line - b.line;
}
var failing = contacts.filter(function (c) { return !c.compliant; });
var worst = failing.slice().sort(worstFirst).slice(0, params.worstCount);
var compliant = contacts.length - failing.length;

var owners = new Map();
if (cols.owner) {
  contacts.forEach(function (c) {
    var key = c.owner || '(unassigned)', entry = owners.get(key) || { owner: key, total: 0, compliant: 0, compliancePct: null };
    entry.total++;
    if (c.compliant) entry.compliant++;
    owners.set(key, entry);
  });
}
var byOwner = Array.from(owners.values()).sort(function (a, b) { return a.owner < b.owner ? -1 : a.owner > b.owner ? 1 : 0; });
byOwner.forEach(function (o) { o.compliancePct = percent(o.compliant, o.total); });
var pct = percent(compliant, contacts.length);

var report = '# Engagement compliance as of ' + asOf + '\n\n' +
  'Rule: every contact touched within ' + threshold + ' days.\n\n' +
  '- Contacts: ' + contacts.length + '\n- Compliant: ' + compliant + ' (' + (pct === null ? 'n/a' : pct + '%') + ')\n' +
  '- Overdue: ' + failing.length + '\n\n## Worst offenders\n\n' +
  mdTable(['Contact', 'Owner', 'Last touch', 'Days since', 'Days overdue'], worst.map(function (c) {
    return [label(c), c.owner || '', c.lastTouch || 'never', c.daysSince === null ? '' : c.daysSince, c.overdueDays === null ? 'never touched' : c.overdueDays];
  }), [false, false, false, true, true]);
api.artifact('engagement-report-' + asOf + '.md', 'text/markdown', report);

return {
  asOf: asOf, thresholdDays: threshold, total: contacts.length, compliant: compliant, nonCompliant: failing.length,
  neverTouched: contacts.filter(function (c) { return c.lastTouch === null; }).length,
  compliancePct: pct, contacts: contacts, worstOffenders: worst, byOwner: byOwner,
  invalid: invalid.sort(function (a, b) { return a.line - b.line; }),
};
`;

/** Reports compliance with the 21-day engagement rule. */
export const engagementComplianceTemplate = defineTemplate({
  name: 'engagement_compliance_report',
  description: 'Check contacts against the 21-day engagement rule as of a given date: overdue days, compliance %, worst offenders.',
  params: Params,
  output: Output,
  source: TEMPLATE_PRELUDE + SOURCE,
});

/**
 * `parse_csv`: parses a CSV export (RFC 4180 quoting, CRLF or LF, header row) and
 * removes duplicate contacts, matched by normalised email (trimmed, lower-case) or
 * phone (digits, with the default country code added to ten-digit numbers). The
 * first occurrence is kept. Malformed rows are reported with their line numbers
 * and left out instead of failing the file.
 */
import { z } from 'zod';
import { TEMPLATE_PRELUDE } from '../js/helpers.ts';
import { defineTemplate } from './template.ts';

const Params = z
  .object({
    /** Name of the input to read; the first csv, text or file input by default. */
    input: z.string().min(1).optional(),
    delimiter: z.enum([',', ';', '\t', '|']).default(','),
    /** Whether the first row names the columns; without one, rows are arrays and nothing is deduplicated. */
    header: z.boolean().default(true),
    dedupe: z.boolean().default(true),
    /** Column holding emails; found by name (email, e-mail, ...) when left out. */
    emailColumn: z.string().min(1).optional(),
    /** Column holding phones; found by name (phone, mobile, ...) when left out. */
    phoneColumn: z.string().min(1).optional(),
    defaultCountryCode: z.string().regex(/^\d{1,3}$/).default('1'),
    /** Also return the kept rows as a CSV artifact. */
    emitCsv: z.boolean().default(false),
  })
  .strict();

const LineIssue = z.object({ line: z.number().int(), reason: z.string() }).strict();

const Output = z
  .object({
    columns: z.array(z.string()),
    rows: z.union([z.array(z.record(z.string(), z.string())), z.array(z.array(z.string()))]),
    rowCount: z.number().int(),
    malformed: z.array(LineIssue),
    duplicates: z.array(
      z.object({ line: z.number().int(), duplicateOf: z.number().int(), matchedOn: z.enum(['email', 'phone']), key: z.string() }).strict(),
    ),
    emailColumn: z.string().nullable(),
    phoneColumn: z.string().nullable(),
  })
  .strict();

const SOURCE = String.raw`
var input = pickInput(inputs, params.input, ['csv', 'text', 'file']);
var table = readCsvTable(inputText(input), { header: params.header, delimiter: params.delimiter });
if (!params.header) {
  var plain = table.rows.map(function (row) { return row.values; });
  return { columns: [], rows: plain, rowCount: plain.length, malformed: table.malformed, duplicates: [], emailColumn: null, phoneColumn: null };
}
var emailColumn = findColumn(table.columns, params.emailColumn, ['email', 'e-mail', 'email address', 'work email', 'mail']);
var phoneColumn = findColumn(table.columns, params.phoneColumn, ['phone', 'phone number', 'mobile', 'mobile phone', 'cell', 'telephone', 'tel', 'work phone']);
var kept = [], duplicates = [], byEmail = new Map(), byPhone = new Map();
table.rows.forEach(function (row) {
  if (params.dedupe) {
    var email = emailColumn ? normalizeEmail(row.values[emailColumn]) : '';
    var phone = phoneColumn ? formatPhone(row.values[phoneColumn], params.defaultCountryCode) : '';
    if (email && byEmail.has(email)) {
      duplicates.push({ line: row.line, duplicateOf: byEmail.get(email), matchedOn: 'email', key: email });
      return;
    }
    if (phone && byPhone.has(phone)) {
      duplicates.push({ line: row.line, duplicateOf: byPhone.get(phone), matchedOn: 'phone', key: phone });
      return;
    }
    if (email) byEmail.set(email, row.line);
    if (phone) byPhone.set(phone, row.line);
  }
  kept.push(row.values);
});
if (params.emitCsv) api.artifact(artifactName(input.name, '.clean.csv'), 'text/csv', toCsv(table.columns, kept));
return {
  columns: table.columns, rows: kept, rowCount: kept.length, malformed: table.malformed,
  duplicates: duplicates, emailColumn: emailColumn, phoneColumn: phoneColumn,
};
`;

/** Parses a CSV export and deduplicates contacts by email or phone. */
export const parseCsvTemplate = defineTemplate({
  name: 'parse_csv',
  description: 'Parse a CSV export (RFC 4180) and dedupe contacts by normalised email or phone; malformed rows are reported by line.',
  params: Params,
  output: Output,
  source: TEMPLATE_PRELUDE + SOURCE,
});

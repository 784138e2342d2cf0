/**
 * Helpers shared by templates, as plain JavaScript source that runs inside the
 * isolate (templates prepend it to their own source). Pure functions only: no
 * clock, no I/O. Dates are handled as `YYYY-MM-DD` strings and UTC day numbers.
 * A script's body runs in the isolate's global scope, not inside the bootstrap, so
 * templates carry their own copy of the CSV functions too: see `TEMPLATE_PRELUDE`.
 */
import { CSV_JS } from './csv.ts';

const HELPERS_JS = String.raw`
function pickInput(inputs, name, kinds) {
  for (var k = 0; k < inputs.length; k++) {
    var input = inputs[k];
    if (name ? input.name === name : kinds.indexOf(input.kind) >= 0) {
      if (kinds.indexOf(input.kind) < 0) throw new Error('input ' + name + ' is ' + input.kind + ', expected ' + kinds.join(' or '));
      return input;
    }
  }
  throw new Error(name ? 'no input named ' + name : 'expected an input of kind ' + kinds.join(' or '));
}

function inputText(input) {
  if (typeof input.text === 'string') return input.text;
  throw new Error('input ' + input.name + ' has no text');
}

function tableFromJson(value) {
  var list = value;
  if (!Array.isArray(list) && list && typeof list === 'object') {
    var arrays = Object.keys(list).filter(function (k) { return Array.isArray(list[k]); });
    if (arrays.length === 1) list = list[arrays[0]];
  }
  if (!Array.isArray(list)) throw new Error('JSON input must be an array of records, or an object holding one');
  var columns = [], rows = [], malformed = [];
  for (var i = 0; i < list.length; i++) {
    var item = list[i];
    if (!item || typeof item !== 'object' || Array.isArray(item)) { malformed.push({ line: i + 1, reason: 'not an object' }); continue; }
    Object.keys(item).forEach(function (key) { if (columns.indexOf(key) < 0) columns.push(key); });
    rows.push({ line: i + 1, values: item });
  }
  return { columns: columns, rows: rows, malformed: malformed };
}

function tableFromInput(input, delimiter) {
  if (input.kind === 'json') return tableFromJson(input.value);
  return readCsvTable(inputText(input), { header: true, delimiter: delimiter });
}

function normKey(s) { return String(s).toLowerCase().replace(/[^a-z0-9]/g, ''); }

function findColumn(columns, explicit, aliases) {
  if (explicit) {
    if (columns.indexOf(explicit) >= 0) return explicit;
    throw new Error('column not found: ' + explicit);
  }
  var normalized = columns.map(normKey);
  for (var a = 0; a < aliases.length; a++) {
    var at = normalized.indexOf(normKey(aliases[a]));
    if (at >= 0) return columns[at];
  }
  return null;
}

function cellText(value) {
  if (value === null || value === undefined) return '';
  return typeof value === 'string' ? value.trim() : String(value);
}

function detectCurrency(s) {
  if (s.indexOf('€') >= 0) return 'EUR';
  if (s.indexOf('£') >= 0) return 'GBP';
  var code = /\b([A-Z]{3})\b/.exec(s);
  if (code) return code[1];
  if (s.indexOf('$') >= 0) return 'USD';
  return null;
}

function parseMoney(raw, decimalSeparator) {
  if (typeof raw === 'number') return isFinite(raw) ? { cents: Math.round(raw * 100), currency: null } : null;
  if (typeof raw !== 'string') return null;
  var s = raw.trim(), negative = false, currency = detectCurrency(s);
  if (/^\(.*\)$/.test(s)) { negative = true; s = s.slice(1, -1).trim(); }
  if (s[0] === '-') { negative = !negative; s = s.slice(1).trim(); }
  s = s.replace(/^[A-Z]{3}\s*/, '').replace(/^[$€£]\s*/, '').replace(/\s*[A-Z]{3}$/, '').replace(/\s*[$€£]$/, '');
  if (s[0] === '-') { negative = !negative; s = s.slice(1); }
  var dec = decimalSeparator === ',' ? ',' : '.';
  s = s.split(dec === '.' ? ',' : '.').join('').replace(/[\s']/g, '');
  var parts = s.split(dec);
  if (parts.length > 2 || !/^\d{1,13}$/.test(parts[0]) || (parts.length === 2 && !/^\d{1,6}$/.test(parts[1]))) return null;
  var frac = ((parts[1] || '') + '000').slice(0, 3);
  var cents = Number(parts[0]) * 100 + Number(frac.slice(0, 2)) + (Number(frac[2]) >= 5 ? 1 : 0);
  return { cents: negative ? -cents : cents, currency: currency };
}

function groupThousands(digits) {
  var out = '';
  for (var i = 0; i < digits.length; i++) {
    if (i > 0 && (digits.length - i) % 3 === 0) out += ',';
    out += digits[i];
  }
  return out;
}

function formatMoney(cents, currency) {
  var abs = Math.abs(cents), whole = String(Math.floor(abs / 100)), frac = String(abs % 100);
  var amount = groupThousands(whole) + '.' + (frac.length < 2 ? '0' + frac : frac);
  var symbol = { USD: '$', EUR: '€', GBP: '£' }[currency];
  var text = symbol ? symbol + amount : amount + ' ' + currency;
  return cents < 0 ? '-' + text : text;
}

var MONTH_NAMES = ['january', 'february', 'march', 'april', 'may', 'june', 'july', 'august', 'september', 'october', 'november', 'december'];

function monthNumber(word) {
  var w = word.toLowerCase().replace(/\.$/, '');
  if (w.length < 3) return 0;
  for (var m = 0; m < 12; m++) if (MONTH_NAMES[m].indexOf(w) === 0) return m + 1;
  return 0;
}

function pad(n, width) { var s = String(n); while (s.length < width) s = '0' + s; return s; }

function isoDate(y, m, d) {
  if (!(y >= 1 && y <= 9999 && m >= 1 && m <= 12 && d >= 1)) return null;
  if (d > new Date(Date.UTC(y, m, 0)).getUTCDate()) return null;
  return pad(y, 4) + '-' + pad(m, 2) + '-' + pad(d, 2);
}

function fullYear(text) { return text.length === 2 ? 2000 + Number(text) : Number(text); }

function isoFromZoned(m) {
  if (!isoDate(+m[1], +m[2], +m[3])) return null;
  var offset = 0;
  if (m[7] !== 'Z') {
    var z = /^([+-])(\d{2}):?(\d{2})$/.exec(m[7]);
    offset = (z[1] === '-' ? -1 : 1) * (Number(z[2]) * 60 + Number(z[3]));
  }
  var t = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +(m[6] || 0)) - offset * 60000);
  return isoDate(t.getUTCFullYear(), t.getUTCMonth() + 1, t.getUTCDate());
}

function parseDate(raw, order) {
  if (typeof raw !== 'string') return null;
  var s = raw.trim(), m;
  if ((m = /^(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ](\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?\s*(Z|[+-]\d{2}:?\d{2})?)?$/.exec(s))) {
    return m[7] ? isoFromZoned(m) : isoDate(+m[1], +m[2], +m[3]);
  }
  if ((m = /^(\d{4})\/(\d{1,2})\/(\d{1,2})$/.exec(s))) return isoDate(+m[1], +m[2], +m[3]);
  if ((m = /^(\d{1,2})[\/.-](\d{1,2})[\/.-](\d{4}|\d{2})(?:\s+\d{1,2}:\d{2}(?::\d{2})?(?:\s*[AaPp][Mm])?)?$/.exec(s))) {
    return order === 'DMY' ? isoDate(fullYear(m[3]), +m[2], +m[1]) : isoDate(fullYear(m[3]), +m[1], +m[2]);
  }
  if ((m = /^([A-Za-z]{3,9}\.?)\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})$/.exec(s))) return isoDate(+m[3], monthNumber(m[1]), +m[2]);
  if ((m = /^(\d{1,2})(?:st|nd|rd|th)?\s+([A-Za-z]{3,9}\.?),?\s+(\d{4})$/.exec(s))) return isoDate(+m[3], monthNumber(m[2]), +m[1]);
  return null;
}

function dayNumber(iso) {
  var p = iso.split('-');
  return Date.UTC(+p[0], +p[1] - 1, +p[2]) / 86400000;
}

function normalizeEmail(raw) {
  var s = cellText(raw).toLowerCase();
  return /^[^\s@<>(),;:"]+@[^\s@<>(),;:"]+\.[a-z]{2,}$/.test(s) ? s : '';
}

function formatPhone(raw, countryCode) {
  var s = cellText(raw).replace(/\s*(?:x|ext\.?|extension)\s*\d{1,6}$/i, '');
  var digits = s.replace(/\D/g, '');
  if (digits.length < 7 || digits.length > 15) return '';
  if (/^\+/.test(s)) return '+' + digits;
  if (countryCode === '1' && digits.length === 11 && digits[0] === '1') return '+' + digits;
  if (countryCode && digits.length === 10) return '+' + countryCode + digits;
  return digits;
}

function artifactName(inputName, suffix) {
  var base = String(inputName).replace(/\.[A-Za-z0-9]{1,5}$/, '').replace(/[^\w .()-]/g, '_').replace(/^[^\w]+/, '');
  return (base || 'output').slice(0, 200) + suffix;
}

function percent(part, whole) { return whole === 0 ? null : Math.round((part * 1000) / whole) / 10; }

function mdCell(value) { return cellText(value).replace(/\|/g, '\\|').replace(/\r?\n/g, ' '); }

function mdTable(headers, rows, alignRight) {
  var lines = ['| ' + headers.map(mdCell).join(' | ') + ' |'];
  lines.push('| ' + headers.map(function (h, i) { return alignRight && alignRight[i] ? '---:' : '---'; }).join(' | ') + ' |');
  rows.forEach(function (row) { lines.push('| ' + row.map(mdCell).join(' | ') + ' |'); });
  return lines.join('\n') + '\n';
}
`;

/** CSV and helper functions, to put before a template's own source. */
export const TEMPLATE_PRELUDE = CSV_JS + HELPERS_JS;

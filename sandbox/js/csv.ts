/**
 * CSV reading and writing as plain JavaScript source that runs inside the isolate.
 * It defines `parseCsvRecords`, `readCsvTable` and `toCsv`; the bootstrap hands the
 * last two to scripts as `api.parseCsv` and `api.toCsv`, and templates call them too.
 *
 * Reading follows RFC 4180: fields separated by a delimiter, optionally quoted with
 * `"`, a quote inside quotes written `""`, records ended by CRLF, LF or CR, line
 * breaks allowed inside quotes. A byte-order mark is dropped and blank lines skipped.
 * Bad quoting and wrong field counts are reported with the record's line number
 * instead of failing the whole file.
 */
export const CSV_JS = String.raw`
function csvCountNewlines(s) {
  var count = 0, at = s.indexOf('\n');
  while (at >= 0) { count++; at = s.indexOf('\n', at + 1); }
  return count;
}

function csvFieldEnd(text, i, delimiter) {
  var n = text.length;
  while (i < n) {
    var c = text[i];
    if (c === delimiter || c === '\n' || c === '\r') break;
    i++;
  }
  return i;
}

function csvQuoted(text, i, delimiter) {
  var parts = [], j = i + 1, n = text.length, closed = false;
  for (;;) {
    var q = text.indexOf('"', j);
    if (q < 0) { parts.push(text.slice(j)); j = n; break; }
    parts.push(text.slice(j, q));
    if (text[q + 1] === '"') { parts.push('"'); j = q + 2; continue; }
    j = q + 1; closed = true; break;
  }
  var field = parts.join(''), error = null;
  if (!closed) error = 'unterminated quoted field';
  else if (j < n && text[j] !== delimiter && text[j] !== '\n' && text[j] !== '\r') {
    error = 'unexpected text after a closing quote';
    var k = csvFieldEnd(text, j, delimiter);
    field += text.slice(j, k);
    j = k;
  }
  return { field: field, end: j, error: error, newlines: csvCountNewlines(field) };
}

function parseCsvRecords(text, delimiter) {
  delimiter = delimiter || ',';
  var records = [], n = text.length, i = 0, line = 1;
  if (n > 0 && text.charCodeAt(0) === 0xFEFF) i = 1;
  while (i < n) {
    var start = line, cells = [], error = null;
    for (;;) {
      if (text[i] === '"') {
        var quoted = csvQuoted(text, i, delimiter);
        cells.push(quoted.field);
        line += quoted.newlines;
        i = quoted.end;
        error = error || quoted.error;
      } else {
        var end = csvFieldEnd(text, i, delimiter);
        var field = text.slice(i, end);
        if (field.indexOf('"') >= 0) error = error || 'quote inside an unquoted field';
        cells.push(field);
        i = end;
      }
      if (i < n && text[i] === delimiter) { i++; continue; }
      break;
    }
    if (text[i] === '\r') { i++; if (text[i] === '\n') i++; line++; }
    else if (text[i] === '\n') { i++; line++; }
    if (cells.length === 1 && cells[0] === '' && !error) continue;
    records.push({ line: start, cells: cells, error: error });
  }
  return records;
}

function csvHeader(cells) {
  var seen = {}, columns = [];
  for (var c = 0; c < cells.length; c++) {
    var name = cells[c].trim() || 'column_' + (c + 1), base = name, k = 2;
    while (Object.prototype.hasOwnProperty.call(seen, name)) name = base + '_' + k++;
    seen[name] = true;
    columns.push(name);
  }
  return columns;
}

function readCsvTable(text, options) {
  if (typeof text !== 'string') throw new TypeError('parseCsv expects a string');
  options = options || {};
  var records = parseCsvRecords(text, options.delimiter);
  var header = options.header !== false;
  var columns = [], rows = [], malformed = [], first = 0;
  if (header && records.length > 0) {
    columns = csvHeader(records[0].cells);
    first = 1;
    if (records[0].error) malformed.push({ line: records[0].line, reason: 'header: ' + records[0].error });
  }
  for (var r = first; r < records.length; r++) {
    var rec = records[r];
    if (rec.error) { malformed.push({ line: rec.line, reason: rec.error }); continue; }
    if (!header) { rows.push({ line: rec.line, values: rec.cells }); continue; }
    if (rec.cells.length !== columns.length) {
      malformed.push({ line: rec.line, reason: 'expected ' + columns.length + ' fields, got ' + rec.cells.length });
      continue;
    }
    var values = {};
    for (var c = 0; c < columns.length; c++) values[columns[c]] = rec.cells[c];
    rows.push({ line: rec.line, values: values });
  }
  return { columns: columns, rows: rows, malformed: malformed };
}

function csvCell(value, delimiter) {
  var s = value === null || value === undefined ? '' : String(value);
  if (s.indexOf('"') >= 0 || s.indexOf(delimiter) >= 0 || s.indexOf('\n') >= 0 || s.indexOf('\r') >= 0) {
    return '"' + s.split('"').join('""') + '"';
  }
  return s;
}

function toCsv(columns, rows, options) {
  var delimiter = (options && options.delimiter) || ',';
  var out = [columns.map(function (c) { return csvCell(c, delimiter); }).join(delimiter)];
  for (var r = 0; r < rows.length; r++) {
    var row = rows[r];
    var cells = Array.isArray(row) ? row : columns.map(function (c) { return row[c]; });
    out.push(cells.map(function (v) { return csvCell(v, delimiter); }).join(delimiter));
  }
  return out.join('\r\n') + '\r\n';
}
`;

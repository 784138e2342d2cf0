/**
 * `parse_docx_to_text`: plain text from a Word document (.docx), entirely inside
 * the isolate: the ZIP's central directory is read, `word/document.xml` (and the
 * headers and footers) inflated with the pure-JS inflate of `sandbox/js/binary.ts`,
 * and WordprocessingML turned into text: one line per paragraph, `w:t` text,
 * `w:tab` as a tab, `w:br`/`w:cr` as line breaks, table rows as tab-separated
 * cells, deleted text and field codes left out. Not a ZIP, a truncated or
 * encrypted archive, or no `word/document.xml` fail the job with a clear reason.
 */
import { z } from 'zod';
import { BINARY_JS } from '../js/binary.ts';
import { TEMPLATE_PRELUDE } from '../js/helpers.ts';
import { defineTemplate } from './template.ts';

const Params = z
  .object({
    /** Name of the input to read; the first file input by default. */
    input: z.string().min(1).optional(),
    /** Also extract the text of headers and footers (returned apart from the body). */
    headersFooters: z.boolean().default(true),
    /** Largest XML part to inflate, in bytes. */
    maxPartBytes: z.number().int().positive().max(64 * 1024 * 1024).default(32 * 1024 * 1024),
    /** Also return the text as a .txt artifact. */
    emitText: z.boolean().default(false),
  })
  .strict();

const Output = z
  .object({
    text: z.string(),
    /** Non-empty paragraphs of the body; each table row counts as one. */
    paragraphs: z.number().int(),
    words: z.number().int(),
    headers: z.array(z.string()),
    footers: z.array(z.string()),
  })
  .strict();

const SOURCE = String.raw`
function wordmlToLines(xml) {
  var lines = [], paras = [], tables = [], skip = 0, inText = false, runDepth = 0;
  var re = /<(\/?)([A-Za-z0-9_:.-]+)((?:[^>"']|"[^"]*"|'[^']*')*?)(\/?)>|<!--[\s\S]*?-->|<\?[\s\S]*?\?>|<!\[CDATA\[([\s\S]*?)\]\]>|([^<]+)/g;
  var m;
  lines.paragraphs = 0;
  function add(s) { if (paras.length) paras[paras.length - 1].push(s); }
  function finishLine(text) {
    var t = tables.length ? tables[tables.length - 1] : null;
    if (t && t.cell) t.cell.push(text);
    else if (paras.length) paras[paras.length - 1].push(text + '\n');
    else { lines.push(text); if (text.trim()) lines.paragraphs++; }
  }
  while ((m = re.exec(xml)) !== null) {
    var closing = m[1] === '/', tag = m[2], selfClosing = m[4] === '/';
    if (m[6] !== undefined || m[5] !== undefined) {
      if (inText && !skip) add(m[5] !== undefined ? m[5] : decodeXmlEntities(m[6]));
      continue;
    }
    if (!tag) continue;
    if (tag === 'mc:Fallback' || tag === 'w:delText' || tag === 'w:instrText' || tag === 'w:rPr' || tag === 'w:pPr' || tag === 'w:sectPr') {
      if (!selfClosing) skip += closing ? -1 : 1;
      continue;
    }
    if (skip) continue;
    if (tag === 'w:t') { inText = !closing && !selfClosing; continue; }
    if (tag === 'w:r') { if (!selfClosing) runDepth += closing ? -1 : 1; continue; }
    if (!closing && (tag === 'w:tab' || tag === 'w:ptab')) { add('\t'); continue; }
    if (!closing && (tag === 'w:br' || tag === 'w:cr')) { add('\n'); continue; }
    if (!closing && tag === 'w:noBreakHyphen') { add('-'); continue; }
    if (tag === 'w:p') {
      if (selfClosing) { finishLine(''); continue; }
      if (!closing) { paras.push([]); continue; }
      var text = (paras.pop() || []).join('').replace(/[ \u00a0]+$/g, '');
      finishLine(text);
      continue;
    }
    if (tag === 'w:tbl') {
      if (!closing) { tables.push({ rows: [], row: null, cell: null }); continue; }
      var done = tables.pop();
      if (!done) continue;
      if (tables.length && tables[tables.length - 1].cell) tables[tables.length - 1].cell.push(done.rows.join(' / '));
      else done.rows.forEach(function (row) { finishLine(row); });
      continue;
    }
    var t = tables.length ? tables[tables.length - 1] : null;
    if (!t) continue;
    if (tag === 'w:tr') {
      if (!closing) t.row = [];
      else if (t.row) { t.rows.push(t.row.join('\t')); t.row = null; }
    } else if (tag === 'w:tc') {
      if (!closing) t.cell = [];
      else if (t.cell) { if (t.row) t.row.push(t.cell.join(' ').replace(/[\t\n]+/g, ' ').trim()); t.cell = null; }
    }
  }
  return lines;
}

function partText(entries, bytes, name) {
  var entry = entries.get(name);
  if (!entry) return null;
  var lines = wordmlToLines(utf8Decode(zipRead(bytes, entry, params.maxPartBytes)));
  return { text: lines.join('\n').replace(/\n+$/, ''), paragraphs: lines.paragraphs };
}

var input = pickInput(inputs, params.input, ['file']);
var bytes = inputBytes(input);
var entries;
try { entries = zipEntries(bytes); }
catch (e) { throw new Error('not a readable DOCX: ' + e.message); }
var main = 'word/document.xml';
if (!entries.has(main)) {
  var found = Array.from(entries.keys()).filter(function (n) { return /^word\/document\d*\.xml$/.test(n); })[0];
  if (!found) throw new Error('not a DOCX: the archive has no word/document.xml' + (entries.has('EncryptionInfo') ? ' (it looks encrypted)' : ''));
  main = found;
}
var part = partText(entries, bytes, main), body = part.text;
var headers = [], footers = [];
if (params.headersFooters) {
  Array.from(entries.keys()).sort().forEach(function (name) {
    var kind = /^word\/(header|footer)\d*\.xml$/.exec(name);
    if (!kind) return;
    var text = partText(entries, bytes, name).text;
    if (text.trim()) (kind[1] === 'header' ? headers : footers).push(text);
  });
}
if (params.emitText) api.artifact(artifactName(input.name, '.txt'), 'text/plain', body);
return { text: body, paragraphs: part.paragraphs, words: countWords(body), headers: headers, footers: footers };
`;

/** Extracts plain text from a DOCX, inside the isolate. */
export const docxToTextTemplate = defineTemplate({
  name: 'parse_docx_to_text',
  description: 'Extract plain text from a Word .docx (paragraphs as lines, tables as tab-separated rows, headers and footers apart); pure JS inside the isolate.',
  params: Params,
  output: Output,
  source: TEMPLATE_PRELUDE + BINARY_JS + SOURCE,
});

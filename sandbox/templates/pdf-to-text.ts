/**
 * `parse_pdf_to_text`: a pragmatic text extractor for text PDFs, entirely inside
 * the isolate. Objects are found by scanning for `N G obj` (object streams are
 * expanded), pages are walked from the catalog's page tree (inherited resources
 * included), content streams are inflated (FlateDecode, with the pure-JS inflate of
 * `sandbox/js/binary.ts`) or read unfiltered, and the text operators (BT/ET, Tf,
 * Tj, TJ, ', ", Td, TD, T*, Tm) turned into lines. Strings are decoded with the
 * font's ToUnicode CMap when it has one (bfchar/bfrange, so simple subset and
 * Type0/Identity-H fonts work), otherwise as WinAnsi/Standard single bytes.
 *
 * It cannot: decrypt (encrypted PDFs fail with a clear reason), read scanned
 * pages (no OCR: images give no text and a warning), decode CID fonts without a
 * ToUnicode CMap, apply /Differences encodings, or decode LZW/ASCII85/other
 * filters (those streams are skipped with a warning). Reading order is the order
 * of the content stream, not of positions on the page.
 */
import { z } from 'zod';
import { BINARY_JS } from '../js/binary.ts';
import { TEMPLATE_PRELUDE } from '../js/helpers.ts';
import { defineTemplate } from './template.ts';

const Params = z
  .object({
    /** Name of the input to read; the first file input by default. */
    input: z.string().min(1).optional(),
    /** Largest decompressed stream, in bytes. */
    maxStreamBytes: z.number().int().positive().max(64 * 1024 * 1024).default(16 * 1024 * 1024),
    /** Read at most this many pages. */
    maxPages: z.number().int().positive().max(10_000).default(2000),
    /** Also return the text as a .txt artifact. */
    emitText: z.boolean().default(false),
  })
  .strict();

const Output = z
  .object({
    text: z.string(),
    pages: z.array(z.object({ page: z.number().int(), text: z.string() }).strict()),
    warnings: z.array(z.string()),
  })
  .strict();

const SOURCE = String.raw`
var WIN_ANSI = { 128: 0x20ac, 130: 0x201a, 131: 0x0192, 132: 0x201e, 133: 0x2026, 134: 0x2020, 135: 0x2021, 136: 0x02c6, 137: 0x2030,
  138: 0x0160, 139: 0x2039, 140: 0x0152, 142: 0x017d, 145: 0x2018, 146: 0x2019, 147: 0x201c, 148: 0x201d, 149: 0x2022, 150: 0x2013,
  151: 0x2014, 152: 0x02dc, 153: 0x2122, 154: 0x0161, 155: 0x203a, 156: 0x0153, 158: 0x017e, 159: 0x0178 };
var warnings = [];
function warn(msg) { if (warnings.indexOf(msg) < 0 && warnings.length < 100) warnings.push(msg); }

// ---- tokenizer (shared by object bodies and content streams) ----
function isWs(c) { return c === 32 || c === 10 || c === 13 || c === 9 || c === 12 || c === 0; }
function isDelim(c) { return c === 40 || c === 41 || c === 60 || c === 62 || c === 91 || c === 93 || c === 123 || c === 125 || c === 47 || c === 37; }
function Lexer(s, pos) { this.s = s; this.pos = pos || 0; }
Lexer.prototype.skip = function () {
  var s = this.s;
  for (;;) {
    var c = s.charCodeAt(this.pos);
    if (isWs(c)) { this.pos++; continue; }
    if (c === 37) { while (this.pos < s.length && s.charCodeAt(this.pos) !== 10 && s.charCodeAt(this.pos) !== 13) this.pos++; continue; }
    return;
  }
};
// Returns { t: 'num'|'name'|'str'|'op'|'[' |']'|'<<'|'>>'|'eof', v }
Lexer.prototype.next = function () {
  this.skip();
  var s = this.s, c = s.charCodeAt(this.pos);
  if (this.pos >= s.length) return { t: 'eof' };
  if (c === 40) return { t: 'str', v: this.literal() };
  if (c === 60) {
    if (s.charCodeAt(this.pos + 1) === 60) { this.pos += 2; return { t: '<<' }; }
    var end = s.indexOf('>', this.pos);
    if (end < 0) end = s.length;
    var hex = s.slice(this.pos + 1, end).replace(/[^0-9a-fA-F]/g, '');
    this.pos = end + 1;
    if (hex.length % 2) hex += '0';
    var out = '';
    for (var i = 0; i < hex.length; i += 2) out += String.fromCharCode(parseInt(hex.substr(i, 2), 16));
    return { t: 'str', v: out };
  }
  if (c === 62 && s.charCodeAt(this.pos + 1) === 62) { this.pos += 2; return { t: '>>' }; }
  if (c === 91 || c === 93 || c === 123 || c === 125) { this.pos++; return { t: c === 91 || c === 123 ? '[' : ']' }; }
  var start = this.pos;
  if (c === 47) {
    this.pos++;
    while (this.pos < s.length && !isWs(s.charCodeAt(this.pos)) && !isDelim(s.charCodeAt(this.pos))) this.pos++;
    return { t: 'name', v: s.slice(start + 1, this.pos).replace(/#([0-9a-fA-F]{2})/g, function (m, h) { return String.fromCharCode(parseInt(h, 16)); }) };
  }
  this.pos++;
  while (this.pos < s.length && !isWs(s.charCodeAt(this.pos)) && !isDelim(s.charCodeAt(this.pos))) this.pos++;
  var word = s.slice(start, this.pos);
  if (/^[+-]?(\d+\.?\d*|\.\d+)$/.test(word)) return { t: 'num', v: parseFloat(word) };
  return { t: 'op', v: word };
};
Lexer.prototype.literal = function () {
  var s = this.s, depth = 0, out = [];
  this.pos++;
  while (this.pos < s.length) {
    var ch = s.charAt(this.pos++);
    if (ch === '(') { depth++; out.push(ch); }
    else if (ch === ')') { if (depth === 0) break; depth--; out.push(ch); }
    else if (ch === '\\') {
      var e = s.charAt(this.pos++);
      if (e === 'n') out.push('\n'); else if (e === 'r') out.push('\r'); else if (e === 't') out.push('\t');
      else if (e === 'b') out.push('\b'); else if (e === 'f') out.push('\f');
      else if (e === '\r') { if (s.charAt(this.pos) === '\n') this.pos++; }
      else if (e === '\n') { /* line continuation */ }
      else if (e >= '0' && e <= '7') {
        var oct = e;
        while (oct.length < 3 && s.charAt(this.pos) >= '0' && s.charAt(this.pos) <= '7') oct += s.charAt(this.pos++);
        out.push(String.fromCharCode(parseInt(oct, 8) & 0xff));
      } else out.push(e);
    } else out.push(ch);
  }
  return out.join('');
};
// Parses one object value: numbers, refs (N G R), names, strings, arrays, dicts.
Lexer.prototype.value = function (depth) {
  if ((depth || 0) > 50) throw new Error('PDF objects nested too deeply');
  var tok = this.next();
  if (tok.t === '<<') {
    var dict = {};
    for (;;) {
      var k = this.next();
      if (k.t === '>>' || k.t === 'eof') return dict;
      if (k.t !== 'name') continue;
      var save = this.pos, v = this.value((depth || 0) + 1);
      if (v === undefined) { this.pos = save; return dict; }
      dict[k.v] = v;
    }
  }
  if (tok.t === '[') {
    var arr = [];
    for (;;) {
      var save2 = this.pos, p = this.next();
      if (p.t === ']' || p.t === 'eof') return arr;
      this.pos = save2;
      var item = this.value((depth || 0) + 1);
      if (item === undefined) { this.next(); continue; }
      arr.push(item);
    }
  }
  if (tok.t === 'num') {
    var save3 = this.pos, g = this.next();
    if (g.t === 'num') { var r = this.next(); if (r.t === 'op' && r.v === 'R') return { ref: tok.v }; }
    this.pos = save3;
    return tok.v;
  }
  if (tok.t === 'name') return { name: tok.v };
  if (tok.t === 'str') return { str: tok.v };
  if (tok.t === 'op') return tok.v === 'true' ? true : tok.v === 'false' ? false : tok.v === 'null' ? null : undefined;
  return undefined;
};

// ---- objects ----
var input = pickInput(inputs, params.input, ['file']);
var bytes = inputBytes(input);
var head = latin1(bytes, 0, Math.min(bytes.length, 1024));
if (head.indexOf('%PDF-') < 0) throw new Error('not a PDF: no %PDF- header');
var src = latin1(bytes);
if (/\/Encrypt\s*(\d+\s+\d+\s+R|<<)/.test(src)) throw new Error('encrypted PDF: decryption is not supported; send an unencrypted copy');

var objects = new Map();
var objRe = /(\d+)\s+(\d+)\s+obj\b/g, om;
while ((om = objRe.exec(src)) !== null) {
  var lx = new Lexer(src, om.index + om[0].length);
  var val;
  try { val = lx.value(0); } catch (e) { continue; }
  var obj = { value: val, stream: null };
  lx.skip();
  if (src.substr(lx.pos, 6) === 'stream') {
    var p = lx.pos + 6;
    if (src.charAt(p) === '\r') p++;
    if (src.charAt(p) === '\n') p++;
    var len = val && typeof val.Length === 'number' ? val.Length : -1;
    var end = len >= 0 && src.substr(p + len, 30).indexOf('endstream') >= 0 ? p + len : src.indexOf('endstream', p);
    if (end < 0) { warn('object ' + om[1] + ': stream is truncated'); end = src.length; }
    obj.stream = bytes.subarray(p, end);
    objRe.lastIndex = end;
  }
  objects.set(Number(om[1]), obj);
}
function resolve(v, depth) {
  var d = depth || 0;
  while (v && typeof v === 'object' && 'ref' in v && d++ < 20) { var o = objects.get(v.ref); v = o ? o.value : null; }
  return v;
}
function nameOf(v) { v = resolve(v); return v && v.name; }
function streamData(obj, what) {
  var filters = resolve(obj.value.Filter);
  filters = filters ? (Array.isArray(filters) ? filters : [filters]) : [];
  var data = obj.stream;
  for (var i = 0; i < filters.length; i++) {
    var f = nameOf(filters[i]);
    if (f === 'FlateDecode' || f === 'Fl') {
      try { data = inflateZlib(data, params.maxStreamBytes); }
      catch (e) { warn(what + ': could not decompress (' + e.message + ')'); return null; }
    } else { warn(what + ': filter ' + f + ' is not supported, skipped'); return null; }
  }
  return data;
}
// Expand object streams (PDF 1.5+), which may hold page and font dictionaries.
objects.forEach(function (obj, num) {
  if (!obj.stream || nameOf(obj.value.Type) !== 'ObjStm') return;
  var data = streamData(obj, 'object stream ' + num);
  if (!data) return;
  var text = latin1(data), n = obj.value.N, first = obj.value.First, lx = new Lexer(text, 0), pairs = [];
  for (var i = 0; i < n; i++) { var a = lx.next(), b = lx.next(); if (a.t !== 'num' || b.t !== 'num') break; pairs.push([a.v, b.v]); }
  pairs.forEach(function (pr) {
    if (objects.has(pr[0])) return;
    try { objects.set(pr[0], { value: new Lexer(text, first + pr[1]).value(0), stream: null }); } catch (e) { /* skip */ }
  });
});

// ---- fonts ----
function parseCMap(data) {
  var text = latin1(data), map = new Map(), codeLen = 1, m;
  var cs = /begincodespacerange\s*<([0-9a-fA-F]+)>/.exec(text);
  if (cs) codeLen = cs[1].length >> 1;
  function hexToStr(h) {
    var s = '';
    for (var i = 0; i + 3 < h.length + 0; i += 4) s += String.fromCharCode(parseInt(h.substr(i, 4), 16));
    if (h.length === 2) s = String.fromCharCode(parseInt(h, 16));
    return s;
  }
  var charRe = /beginbfchar([\s\S]*?)endbfchar/g;
  while ((m = charRe.exec(text)) !== null) {
    var pr = /<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]*)>/g, c;
    while ((c = pr.exec(m[1])) !== null) map.set(parseInt(c[1], 16), hexToStr(c[2]));
  }
  var rangeRe = /beginbfrange([\s\S]*?)endbfrange/g;
  while ((m = rangeRe.exec(text)) !== null) {
    var rr = /<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]+)>\s*(<([0-9a-fA-F]*)>|\[([^\]]*)\])/g, r;
    while ((r = rr.exec(m[1])) !== null) {
      var lo = parseInt(r[1], 16), hi = Math.min(parseInt(r[2], 16), lo + 65535);
      if (r[4] !== undefined) {
        var base = hexToStr(r[4]);
        for (var k = lo; k <= hi; k++) map.set(k, base.slice(0, -1) + String.fromCharCode(base.charCodeAt(base.length - 1) + (k - lo)));
      } else {
        var list = r[5].match(/<([0-9a-fA-F]*)>/g) || [];
        for (var j = 0; j < list.length && lo + j <= hi; j++) map.set(lo + j, hexToStr(list[j].slice(1, -1)));
      }
    }
  }
  return { map: map, codeLen: codeLen };
}
var fontCache = new Map();
function loadFont(ref) {
  var key = ref && ref.ref !== undefined ? ref.ref : null;
  if (key !== null && fontCache.has(key)) return fontCache.get(key);
  var d = resolve(ref) || {};
  var font = { type0: nameOf(d.Subtype) === 'Type0', cmap: null, name: nameOf(d.BaseFont) || '?' };
  if (d.ToUnicode) {
    var o = objects.get(d.ToUnicode.ref);
    var data = o && o.stream ? streamData(o, 'ToUnicode of ' + font.name) : null;
    if (data) font.cmap = parseCMap(data);
  }
  if (font.type0 && !font.cmap) warn('font ' + font.name + ' is a CID (Type0) font without a ToUnicode map: its text cannot be decoded');
  if (!font.type0 && d.Encoding && resolve(d.Encoding) && resolve(d.Encoding).Differences && !font.cmap) warn('font ' + font.name + ' uses a /Differences encoding, which is read as WinAnsi: some characters may be wrong');
  if (key !== null) fontCache.set(key, font);
  return font;
}
function decodeString(s, font) {
  if (font && font.cmap) {
    var n = font.type0 ? 2 : font.cmap.codeLen, out = '';
    for (var i = 0; i + n <= s.length; i += n) {
      var code = 0;
      for (var k = 0; k < n; k++) code = code * 256 + s.charCodeAt(i + k);
      var u = font.cmap.map.get(code);
      out += u !== undefined ? u : (n === 1 ? s.charAt(i) : '');
    }
    return out;
  }
  if (font && font.type0) return '';
  var r = '';
  for (var j = 0; j < s.length; j++) { var c = s.charCodeAt(j); r += String.fromCharCode(WIN_ANSI[c] || c); }
  return r;
}

// ---- pages ----
var pages = [];
function walk(node, inherited, depth) {
  var d = resolve(node);
  if (!d || depth > 50 || pages.length >= params.maxPages) return;
  var res = d.Resources !== undefined ? d.Resources : inherited;
  var kids = resolve(d.Kids);
  if (Array.isArray(kids)) { kids.forEach(function (k) { walk(k, res, depth + 1); }); return; }
  if (nameOf(d.Type) === 'Page' || d.Contents !== undefined) pages.push({ dict: d, resources: res });
}
var trailerRoot = /\/Root\s+(\d+)\s+\d+\s+R/.exec(src.slice(Math.max(0, src.lastIndexOf('trailer') >= 0 ? src.lastIndexOf('trailer') : src.length - 4096)));
var catalog = trailerRoot ? resolve({ ref: Number(trailerRoot[1]) }) : null;
if (!catalog || !catalog.Pages) objects.forEach(function (o) { if (!catalog && o.value && nameOf(o.value.Type) === 'Catalog') catalog = o.value; });
if (catalog && catalog.Pages) walk(catalog.Pages, undefined, 0);
if (!pages.length) {
  var nums = Array.from(objects.keys()).sort(function (a, b) { return a - b; });
  nums.forEach(function (n) { var v = objects.get(n).value; if (v && nameOf(v.Type) === 'Page' && pages.length < params.maxPages) pages.push({ dict: v, resources: v.Resources }); });
}
if (!pages.length) throw new Error('no pages found: the PDF is damaged or truncated');

function pageText(page, number) {
  var contents = resolve(page.dict.Contents);
  var refs = Array.isArray(contents) ? contents : page.dict.Contents ? [page.dict.Contents] : [];
  var chunks = [];
  refs.forEach(function (r) {
    var o = r && r.ref !== undefined ? objects.get(r.ref) : null;
    if (!o || !o.stream) { warn('page ' + number + ': a content stream is missing'); return; }
    var data = streamData(o, 'page ' + number);
    if (data) chunks.push(latin1(data));
  });
  var resources = resolve(page.resources) || {};
  var fonts = resolve(resources.Font) || {};
  var lx = new Lexer(chunks.join('\n'), 0), stack = [], font = null, lines = [], line = '', lastY = null, shown = false, hasImage = false;
  function newline() { lines.push(line); line = ''; }
  function show(s) { line += decodeString(s, font); shown = true; }
  for (;;) {
    var tok = lx.next();
    if (tok.t === 'eof') break;
    if (tok.t !== 'op') {
      if (tok.t === '[') { var arr = []; for (;;) { var a = lx.next(); if (a.t === ']' || a.t === 'eof') break; arr.push(a); } stack.push({ t: 'arr', v: arr }); }
      else stack.push(tok);
      if (stack.length > 1000) stack.splice(0, 500);
      continue;
    }
    var op = tok.v, args = stack; stack = [];
    var top = args[args.length - 1];
    if (op === 'BI') { var ei = lx.s.indexOf('EI', lx.pos); lx.pos = ei < 0 ? lx.s.length : ei + 2; hasImage = true; continue; }
    if (op === 'Do') { hasImage = true; continue; }
    if (op === 'Tf') { var fn = args.length >= 2 && args[args.length - 2].t === 'name' ? args[args.length - 2].v : null; font = fn && fonts[fn] ? loadFont(fonts[fn]) : null; continue; }
    if (op === 'Td' || op === 'TD') { var ty = args.length >= 1 && top.t === 'num' ? top.v : 0; var tx = args.length >= 2 ? args[args.length - 2].v : 0; if (ty !== 0) newline(); else if (tx > 0 && line && !/\s$/.test(line)) line += ' '; if (lastY !== null) lastY += ty; continue; }
    if (op === 'T*') { newline(); continue; }
    if (op === 'Tm') { var y = top && top.t === 'num' ? top.v : null; if (lastY !== null && y !== null && Math.abs(y - lastY) > 0.5) newline(); else if (lastY !== null && line && !/\s$/.test(line)) line += ' '; lastY = y; continue; }
    if (op === 'BT') { continue; }
    if (op === 'ET') { continue; }
    if (op === 'Tj') { if (top && top.t === 'str') show(top.v); continue; }
    if (op === "'" || op === '"') { newline(); if (top && top.t === 'str') show(top.v); continue; }
    if (op === 'TJ') {
      if (!top || top.t !== 'arr') continue;
      top.v.forEach(function (el) {
        if (el.t === 'str') show(el.v);
        else if (el.t === 'num' && el.v < -200 && line && !/\s$/.test(line)) line += ' ';
      });
    }
  }
  newline();
  if (!shown && hasImage) warn('page ' + number + ': no text, only images (scanned? OCR is not supported)');
  return lines.map(function (l) { return l.replace(/[ \t]+$/, ''); }).join('\n').replace(/^\n+|\n+$/g, '').replace(/\n{3,}/g, '\n\n');
}

var out = pages.map(function (pg, i) { return { page: i + 1, text: pageText(pg, i + 1) }; });
var text = out.map(function (p) { return p.text; }).join('\n\n');
if (!text.trim()) text = '';
if (!text) warn('no text found: the PDF may be scanned images (OCR is not supported) or use fonts that cannot be decoded');
if (params.emitText) api.artifact(artifactName(input.name, '.txt'), 'text/plain', text);
return { text: text, pages: out, warnings: warnings };
`;

/** Extracts text from a text PDF, inside the isolate. */
export const pdfToTextTemplate = defineTemplate({
  name: 'parse_pdf_to_text',
  description:
    'Extract text from a text PDF (Flate or unfiltered content streams, WinAnsi or ToUnicode fonts), page by page with warnings; no OCR, no decryption; pure JS inside the isolate.',
  params: Params,
  output: Output,
  source: TEMPLATE_PRELUDE + BINARY_JS + SOURCE,
});

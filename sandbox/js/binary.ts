/**
 * Binary helpers for the document templates, as plain JavaScript source that runs
 * inside the isolate: a compact raw-DEFLATE / zlib inflate (RFC 1951/1950, after
 * zlib's `puff.c`), a UTF-8 decoder (a bare v8 context has no `TextDecoder`), a
 * ZIP central-directory reader and `inputBytes`. No dependencies; every error is
 * an `Error` with a message meant for the job's failed reason.
 */

export const BINARY_JS = String.raw`
var INFLATE_LBASE = [3,4,5,6,7,8,9,10,11,13,15,17,19,23,27,31,35,43,51,59,67,83,99,115,131,163,195,227,258];
var INFLATE_LEXT = [0,0,0,0,0,0,0,0,1,1,1,1,2,2,2,2,3,3,3,3,4,4,4,4,5,5,5,5,0];
var INFLATE_DBASE = [1,2,3,4,5,7,9,13,17,25,33,49,65,97,129,193,257,385,513,769,1025,1537,2049,3073,4097,6145,8193,12289,16385,24577];
var INFLATE_DEXT = [0,0,0,0,1,1,2,2,3,3,4,4,5,5,6,6,7,7,8,8,9,9,10,10,11,11,12,12,13,13];
var INFLATE_ORDER = [16,17,18,0,8,7,9,6,10,5,11,4,12,3,13,2,14,1,15];

function inflateHuffman(lengths, n) {
  var count = new Uint16Array(16), offs = new Uint16Array(16), symbol = new Uint16Array(n), i;
  for (i = 0; i < n; i++) count[lengths[i]]++;
  count[0] = 0;
  for (i = 1; i < 15; i++) offs[i + 1] = offs[i] + count[i];
  for (i = 0; i < n; i++) if (lengths[i]) symbol[offs[lengths[i]]++] = i;
  return { count: count, symbol: symbol };
}

/** Inflates raw DEFLATE data; refuses to produce more than maxOut bytes. */
function inflateRaw(src, maxOut, start) {
  var limit = maxOut || 64 * 1024 * 1024;
  var out = new Uint8Array(Math.min(limit, Math.max(1024, src.length * 4))), olen = 0;
  var pos = start || 0, bitbuf = 0, bitcnt = 0;
  function bits(n) {
    while (bitcnt < n) {
      if (pos >= src.length) throw new Error('compressed data ended early (truncated?)');
      bitbuf |= src[pos++] << bitcnt; bitcnt += 8;
    }
    var v = bitbuf & ((1 << n) - 1);
    bitbuf >>>= n; bitcnt -= n;
    return v;
  }
  function room(n) {
    if (olen + n <= out.length) return;
    if (olen + n > limit) throw new Error('decompressed data exceeds ' + limit + ' bytes');
    var size = out.length * 2;
    while (size < olen + n) size *= 2;
    var next = new Uint8Array(Math.min(size, limit));
    next.set(out.subarray(0, olen));
    out = next;
  }
  function decode(h) {
    var code = 0, first = 0, index = 0;
    for (var len = 1; len < 16; len++) {
      code |= bits(1);
      var c = h.count[len];
      if (code - c < first) return h.symbol[index + (code - first)];
      index += c; first += c; first <<= 1; code <<= 1;
    }
    throw new Error('invalid compressed data (bad Huffman code)');
  }
  function codes(lencode, distcode) {
    for (;;) {
      var sym = decode(lencode);
      if (sym < 256) { room(1); out[olen++] = sym; continue; }
      if (sym === 256) return;
      sym -= 257;
      if (sym >= 29) throw new Error('invalid compressed data (bad length)');
      var len = INFLATE_LBASE[sym] + bits(INFLATE_LEXT[sym]);
      var dsym = decode(distcode);
      if (dsym >= 30) throw new Error('invalid compressed data (bad distance)');
      var dist = INFLATE_DBASE[dsym] + bits(INFLATE_DEXT[dsym]);
      if (dist > olen) throw new Error('invalid compressed data (distance too far back)');
      room(len);
      for (var k = 0; k < len; k++) { out[olen] = out[olen - dist]; olen++; }
    }
  }
  var fixedLen = null, fixedDist = null, last;
  do {
    last = bits(1);
    var type = bits(2);
    if (type === 0) {
      bitbuf = 0; bitcnt = 0;
      if (pos + 4 > src.length) throw new Error('compressed data ended early (truncated?)');
      var len = src[pos] | (src[pos + 1] << 8), nlen = src[pos + 2] | (src[pos + 3] << 8);
      pos += 4;
      if (len !== (~nlen & 0xffff)) throw new Error('invalid compressed data (stored block length)');
      if (pos + len > src.length) throw new Error('compressed data ended early (truncated?)');
      room(len);
      out.set(src.subarray(pos, pos + len), olen);
      olen += len; pos += len;
    } else if (type === 1) {
      if (!fixedLen) {
        var l = new Uint8Array(288), i;
        for (i = 0; i < 144; i++) l[i] = 8;
        for (; i < 256; i++) l[i] = 9;
        for (; i < 280; i++) l[i] = 7;
        for (; i < 288; i++) l[i] = 8;
        fixedLen = inflateHuffman(l, 288);
        var d = new Uint8Array(30);
        for (i = 0; i < 30; i++) d[i] = 5;
        fixedDist = inflateHuffman(d, 30);
      }
      codes(fixedLen, fixedDist);
    } else if (type === 2) {
      var nlen2 = bits(5) + 257, ndist = bits(5) + 1, ncode = bits(4) + 4;
      if (nlen2 > 286 || ndist > 30) throw new Error('invalid compressed data (bad counts)');
      var lengths = new Uint8Array(320), j;
      for (j = 0; j < ncode; j++) lengths[INFLATE_ORDER[j]] = bits(3);
      var lencode = inflateHuffman(lengths, 19);
      var idx = 0;
      lengths = new Uint8Array(320);
      while (idx < nlen2 + ndist) {
        var sym = decode(lencode);
        if (sym < 16) { lengths[idx++] = sym; continue; }
        var rep = 0, n;
        if (sym === 16) {
          if (idx === 0) throw new Error('invalid compressed data (repeat with no length)');
          rep = lengths[idx - 1]; n = 3 + bits(2);
        } else if (sym === 17) n = 3 + bits(3);
        else n = 11 + bits(7);
        if (idx + n > nlen2 + ndist) throw new Error('invalid compressed data (too many lengths)');
        while (n--) lengths[idx++] = rep;
      }
      if (lengths[256] === 0) throw new Error('invalid compressed data (no end-of-block code)');
      codes(inflateHuffman(lengths, nlen2), inflateHuffman(lengths.subarray(nlen2), ndist));
    } else {
      throw new Error('invalid compressed data (block type 3)');
    }
  } while (!last);
  return out.subarray(0, olen);
}

/** Inflates zlib-wrapped data (PDF FlateDecode); the Adler-32 trailer is not checked. */
function inflateZlib(src, maxOut) {
  if (src.length < 2) throw new Error('compressed data ended early (truncated?)');
  if ((src[0] & 0x0f) !== 8 || ((src[0] << 8) | src[1]) % 31 !== 0) return inflateRaw(src, maxOut, 0);
  if (src[1] & 0x20) throw new Error('zlib preset dictionaries are not supported');
  return inflateRaw(src, maxOut, 2);
}

function utf8Decode(bytes, start, end) {
  var s = start || 0, e = end === undefined ? bytes.length : end, parts = [], chunk = [];
  if (s === 0 && e >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) s = 3;
  for (var i = s; i < e;) {
    var b = bytes[i++], cp;
    if (b < 0x80) cp = b;
    else if (b >= 0xc0 && b < 0xe0 && i < e) cp = ((b & 0x1f) << 6) | (bytes[i++] & 0x3f);
    else if (b >= 0xe0 && b < 0xf0 && i + 1 < e) { cp = ((b & 0x0f) << 12) | ((bytes[i] & 0x3f) << 6) | (bytes[i + 1] & 0x3f); i += 2; }
    else if (b >= 0xf0 && b < 0xf8 && i + 2 < e) { cp = ((b & 0x07) << 18) | ((bytes[i] & 0x3f) << 12) | ((bytes[i + 1] & 0x3f) << 6) | (bytes[i + 2] & 0x3f); i += 3; }
    else cp = 0xfffd;
    if (cp > 0xffff) { cp -= 0x10000; chunk.push(0xd800 + (cp >> 10), 0xdc00 + (cp & 0x3ff)); }
    else chunk.push(cp);
    if (chunk.length >= 8192) { parts.push(String.fromCharCode.apply(null, chunk)); chunk = []; }
  }
  parts.push(String.fromCharCode.apply(null, chunk));
  return parts.join('');
}

/** One char per byte (Latin-1), for scanning binary formats with string methods. */
function latin1(bytes, start, end) {
  var s = start || 0, e = end === undefined ? bytes.length : end, parts = [];
  for (var i = s; i < e; i += 8192) parts.push(String.fromCharCode.apply(null, bytes.subarray(i, Math.min(e, i + 8192))));
  return parts.join('');
}

function inputBytes(input) {
  if (input.bytes instanceof Uint8Array) return input.bytes;
  throw new Error('input ' + input.name + ' has no bytes: send the document as a file input with base64');
}

function u16(b, o) { return b[o] | (b[o + 1] << 8); }
function u32(b, o) { return (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16)) + b[o + 3] * 16777216; }

/** Reads a ZIP's central directory: a Map from entry name to { name, method, flags, compSize, size, offset }. */
function zipEntries(bytes) {
  if (bytes.length < 22) throw new Error('not a ZIP archive (too short)');
  var eocd = -1;
  for (var i = bytes.length - 22; i >= Math.max(0, bytes.length - 65557); i--) {
    if (bytes[i] === 0x50 && bytes[i + 1] === 0x4b && bytes[i + 2] === 5 && bytes[i + 3] === 6) { eocd = i; break; }
  }
  if (eocd < 0) {
    if (bytes[0] === 0x50 && bytes[1] === 0x4b) throw new Error('ZIP archive is truncated or damaged (no end of central directory)');
    throw new Error('not a ZIP archive (no end of central directory)');
  }
  var count = u16(bytes, eocd + 10), cdSize = u32(bytes, eocd + 12), cdOffset = u32(bytes, eocd + 16);
  if (count === 0xffff || cdOffset === 0xffffffff) throw new Error('ZIP64 archives are not supported');
  if (cdOffset + cdSize > eocd) throw new Error('ZIP archive is truncated or damaged (central directory out of range)');
  var entries = new Map(), p = cdOffset;
  for (var k = 0; k < count; k++) {
    if (p + 46 > bytes.length || u32(bytes, p) !== 0x02014b50) throw new Error('ZIP archive is damaged (bad central directory entry ' + k + ')');
    var nameLen = u16(bytes, p + 28), extraLen = u16(bytes, p + 30), commentLen = u16(bytes, p + 32);
    var entry = {
      name: utf8Decode(bytes, p + 46, p + 46 + nameLen),
      flags: u16(bytes, p + 8), method: u16(bytes, p + 10),
      compSize: u32(bytes, p + 20), size: u32(bytes, p + 24), offset: u32(bytes, p + 42),
    };
    entries.set(entry.name, entry);
    p += 46 + nameLen + extraLen + commentLen;
  }
  return entries;
}

/** The bytes of one ZIP entry, inflated; at most maxOut bytes. */
function zipRead(bytes, entry, maxOut) {
  if (entry.flags & 1) throw new Error('ZIP entry ' + entry.name + ' is encrypted');
  if (entry.size > maxOut) throw new Error('ZIP entry ' + entry.name + ' is ' + entry.size + ' bytes, more than the ' + maxOut + ' allowed');
  var o = entry.offset;
  if (o + 30 > bytes.length || u32(bytes, o) !== 0x04034b50) throw new Error('ZIP archive is damaged (bad local header for ' + entry.name + ')');
  var start = o + 30 + u16(bytes, o + 26) + u16(bytes, o + 28), end = start + entry.compSize;
  if (end > bytes.length) throw new Error('ZIP archive is truncated (entry ' + entry.name + ')');
  var data = bytes.subarray(start, end);
  if (entry.method === 0) return data;
  if (entry.method !== 8) throw new Error('ZIP entry ' + entry.name + ' uses compression method ' + entry.method + ', only stored and deflate are supported');
  var out;
  try { out = inflateRaw(data, maxOut, 0); }
  catch (e) { throw new Error('ZIP entry ' + entry.name + ': ' + e.message); }
  return out;
}

function decodeXmlEntities(s) {
  return s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|amp|lt|gt|quot|apos);/g, function (m, e) {
    if (e === 'amp') return '&';
    if (e === 'lt') return '<';
    if (e === 'gt') return '>';
    if (e === 'quot') return '"';
    if (e === 'apos') return "'";
    var cp = e.charAt(1) === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
    return cp > 0 && cp <= 0x10ffff ? String.fromCodePoint(cp) : '\ufffd';
  });
}

function countWords(text) { var m = text.match(/\S+/g); return m ? m.length : 0; }
`;

/**
 * `extract_contacts_from_text_or_email`: finds people in an email or any text.
 * Sources, in order: address headers (From, To, Cc, Bcc, Reply-To, Sender, with
 * folded lines and quoted names, "Last, First" turned around), signature blocks
 * after a sign-off ("Best,", "Regards,", "--", ...) giving name, title, company and
 * phones, then `Name <email>` and bare addresses in the body. Contacts are merged
 * by lower-cased email; a signature without an email joins the header contact
 * with the same name.
 */
import { z } from 'zod';
import { TEMPLATE_PRELUDE } from '../js/helpers.ts';
import { defineTemplate } from './template.ts';

const Params = z
  .object({
    /** Name of the input to read; the first text, file or csv input by default. */
    input: z.string().min(1).optional(),
    defaultCountryCode: z.string().regex(/^\d{1,3}$/).default('1'),
  })
  .strict();

const Contact = z
  .object({
    name: z.string().nullable(),
    email: z.string().nullable(),
    phones: z.array(z.string()),
    title: z.string().nullable(),
    company: z.string().nullable(),
    sources: z.array(z.enum(['from', 'to', 'cc', 'bcc', 'reply-to', 'sender', 'signature', 'body'])),
  })
  .strict();

const Output = z.object({ contacts: z.array(Contact) }).strict();

const SOURCE = String.raw`
var HEADER_RE = /^(From|To|Cc|Bcc|Reply-To|Sender)\s*:\s*(.*)$/i;
var SIGNOFF_RE = /^(?:--|—|best|best regards|best wishes|kind regards|warm regards|regards|thanks|thank you|many thanks|thanks again|sincerely|cheers|respectfully|all the best|yours truly)[,.!]?$/i;
var EMAIL_RE = /[A-Za-z0-9._%+'-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/g;
var NAMED_EMAIL_RE = /([A-Z][\w'’.-]*(?:\s+[A-Z][\w'’.-]*){0,3})\s*<([^<>\s]+@[^<>\s]+)>/g;
var PHONE_RE = /\+?\(?\d[\d\s().-]{6,}\d(?:\s*(?:x|ext\.?)\s*\d{1,6})?/g;
var COMPANY_RE = /\b(?:Inc|LLC|L\.L\.C|Ltd|Limited|Corp|Corporation|Co|Company|GmbH|Group|Holdings|LLP|PLC|S\.A)\b\.?/;
var TITLE_RE = /\b(?:CEO|CFO|COO|CTO|CMO|CIO|SVP|EVP|VP|President|Director|Manager|Head of|Lead|Engineer|Coordinator|Specialist|Officer|Owner|Founder|Partner|Principal|Analyst|Consultant|Buyer|Purchasing|Procurement|Account Executive|Representative|Associate|Administrator|Assistant|Supervisor|Superintendent|Estimator|Controller|Accountant|Chief)\b/i;
var NAME_RE = /^[A-Z][A-Za-z'’.-]*(?:\s+[A-Z][A-Za-z'’.-]*){0,3}$/;

var text = inputText(pickInput(inputs, params.input, ['text', 'file', 'csv'])).replace(/\r\n?/g, '\n');
var lines = text.split('\n');
var contacts = [], byEmail = new Map(), used = new Set();

function addSource(contact, source) { if (contact.sources.indexOf(source) < 0) contact.sources.push(source); }
function newContact(email, name) {
  var contact = { name: name || null, email: email || null, phones: [], title: null, company: null, sources: [] };
  contacts.push(contact);
  if (email) byEmail.set(email, contact);
  return contact;
}
function upsert(rawEmail, name, source) {
  var email = normalizeEmail(rawEmail);
  if (!email) return null;
  var contact = byEmail.get(email) || newContact(email, null);
  if (name && !contact.name) contact.name = name;
  addSource(contact, source);
  return contact;
}

function cleanName(raw) {
  var s = raw.trim().replace(/^"(.*)"$/, '$1').replace(/^'(.*)'$/, '$1').trim();
  if (!s || s.indexOf('@') >= 0) return null;
  var turned = /^([^,]+),\s*([^,]+)$/.exec(s);
  if (turned) s = turned[2].trim() + ' ' + turned[1].trim();
  return s.replace(/\s+/g, ' ');
}
function splitAddresses(value) {
  var parts = [], current = '', quoted = false, depth = 0;
  for (var i = 0; i < value.length; i++) {
    var c = value[i];
    if (c === '"') quoted = !quoted;
    else if (!quoted && c === '<') depth++;
    else if (!quoted && c === '>') depth = Math.max(0, depth - 1);
    if (!quoted && depth === 0 && (c === ',' || c === ';')) { parts.push(current); current = ''; } else current += c;
  }
  parts.push(current);
  return parts.map(function (p) { return p.trim(); }).filter(Boolean);
}
function parseAddress(part) {
  var m = /^(.*?)\s*<([^<>]+)>$/.exec(part);
  if (m) return { name: cleanName(m[1]), email: m[2] };
  m = /^(\S+@\S+)\s*\(([^)]*)\)$/.exec(part);
  if (m) return { name: cleanName(m[2]), email: m[1] };
  return { name: null, email: part };
}

function readHeaders() {
  for (var i = 0; i < lines.length; i++) {
    var m = HEADER_RE.exec(lines[i]);
    if (!m) continue;
    used.add(i);
    var value = m[2];
    while (i + 1 < lines.length && /^[ \t]+\S/.test(lines[i + 1])) { i++; used.add(i); value += ' ' + lines[i].trim(); }
    splitAddresses(value).forEach(function (part) {
      var address = parseAddress(part);
      upsert(address.email, address.name, m[1].toLowerCase());
    });
  }
}

function signatureBlock(start) {
  var block = [];
  for (var i = start; i < lines.length && block.length < 8; i++) {
    var line = lines[i].trim();
    if (!line) { if (block.length > 0) break; continue; }
    if (HEADER_RE.test(line) || /^On .+ wrote:$/.test(line) || /^>/.test(line)) break;
    block.push({ index: i, line: line });
  }
  return block;
}

function readPhones(sig, line) {
  var unlabelled = line.replace(/^(?:tel|phone|mobile|cell|office|direct|work|main|t|p|m|o|d|f|fax)\b\.?:?\s*/i, '');
  if (!/\d{3}/.test(line) || /[A-Za-z]{4,}/.test(unlabelled.replace(/\b(?:tel|phone|mobile|cell|office|direct|work|main|fax)\b/gi, ''))) return false;
  line.split(/\s+[|•·]\s+/).forEach(function (segment) {
    if (/^(?:f|fax)\b/i.test(segment.trim())) return;
    (segment.match(PHONE_RE) || []).forEach(function (p) {
      var f = formatPhone(p, params.defaultCountryCode);
      if (f && sig.phones.indexOf(f) < 0) sig.phones.push(f);
    });
  });
  return true;
}

function readSignatureLine(sig, line) {
  var emails = line.match(EMAIL_RE);
  if (emails) { sig.email = sig.email || emails[0]; return; }
  if (/^(?:https?:\/\/|www\.)/i.test(line)) return;
  if (readPhones(sig, line)) return;
  var segments = line.split(/\s+(?:\||•|·|–|-|at)\s+|,\s+(?=[A-Z])/);
  segments.forEach(function (segment) {
    var s = segment.trim();
    if (!s) return;
    if (COMPANY_RE.test(s) && !sig.company) sig.company = s;
    else if (TITLE_RE.test(s) && !sig.title) sig.title = s;
    else if (!sig.name && !sig.title && !sig.company && NAME_RE.test(s)) sig.name = s;
  });
}

function attachSignature(sig) {
  if (!sig.name && !sig.email && sig.phones.length === 0) return;
  var contact = sig.email ? upsert(sig.email, sig.name, 'signature') : null;
  if (!contact && sig.name) {
    var wanted = sig.name.toLowerCase();
    contact = contacts.filter(function (c) {
      return c.name && (c.name.toLowerCase() === wanted || c.name.toLowerCase().indexOf(wanted + ' ') === 0);
    })[0] || newContact(null, sig.name);
    addSource(contact, 'signature');
  }
  if (!contact) return;
  contact.title = contact.title || sig.title;
  contact.company = contact.company || sig.company;
  sig.phones.forEach(function (p) { if (contact.phones.indexOf(p) < 0) contact.phones.push(p); });
}

function readSignatures() {
  for (var i = 0; i < lines.length; i++) {
    if (used.has(i) || !SIGNOFF_RE.test(lines[i].trim())) continue;
    var sig = { name: null, email: null, phones: [], title: null, company: null };
    signatureBlock(i + 1).forEach(function (entry) { used.add(entry.index); readSignatureLine(sig, entry.line); });
    attachSignature(sig);
  }
}

var NOT_NAMES = /^(?:On|From|To|Cc|Sent|Date|AM|PM)[:,]?$/;
function bodyName(raw) {
  var words = raw.trim().split(/\s+/);
  while (words.length > 0 && NOT_NAMES.test(words[0])) words.shift();
  return words.length > 0 ? cleanName(words.join(' ')) : null;
}

// A line like "Maria Garcia - Director of Procurement, Initrode Inc. maria@initrode.com, cell 555 010 7777".
function readContactLine(line, email) {
  var lead = /^\s*(?:[-*•]\s*)?([A-Z][A-Za-z'’.-]*(?:\s+[A-Z][A-Za-z'’.-]*){1,3})\s*(?:[-–|:,(]|$)/.exec(line);
  var contact = upsert(email, lead ? cleanName(lead[1]) : null, 'body');
  if (!contact || !lead) return;
  var rest = line.replace(EMAIL_RE, ' ');
  (rest.match(PHONE_RE) || []).forEach(function (p) {
    var f = formatPhone(p, params.defaultCountryCode);
    if (f && contact.phones.indexOf(f) < 0) contact.phones.push(f);
  });
  rest.replace(PHONE_RE, ' ').split(/\s+(?:\||•|–|-|at)\s+|,\s+/).forEach(function (segment) {
    var s = segment.trim().replace(/[,;:]$/, '');
    if (!s || s === lead[1]) return;
    if (COMPANY_RE.test(s)) contact.company = contact.company || s;
    else if (TITLE_RE.test(s)) contact.title = contact.title || s;
  });
}

function readBody() {
  for (var i = 0; i < lines.length; i++) {
    if (used.has(i)) continue;
    var line = lines[i], m, named = 0;
    NAMED_EMAIL_RE.lastIndex = 0;
    while ((m = NAMED_EMAIL_RE.exec(line))) { named++; upsert(m[2], bodyName(m[1]), 'body'); }
    var emails = line.match(EMAIL_RE) || [];
    if (emails.length === 1 && named === 0) readContactLine(line, emails[0]);
    else emails.forEach(function (email) { upsert(email, null, 'body'); });
  }
}

readHeaders();
readSignatures();
readBody();
return { contacts: contacts };
`;

/** Extracts contacts from an email or free text. */
export const extractContactsTemplate = defineTemplate({
  name: 'extract_contacts_from_text_or_email',
  description: 'Extract contacts (name, email, phones, title, company) from email headers, signatures and body text.',
  params: Params,
  output: Output,
  source: TEMPLATE_PRELUDE + SOURCE,
});

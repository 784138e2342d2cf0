/**
 * Plain-text emails as RFC 5322 (2822) messages: headers with non-ASCII text as
 * RFC 2047 encoded words, the body as UTF-8 quoted-printable, CRLF line ends.
 * Header values are refused if they hold a line break (header injection).
 */
import { createHash } from 'node:crypto';

/** One email, as the transport sends it. */
export interface MailMessage {
  /** `address` or `Name <address>`. */
  from: string;
  to: string[];
  cc?: string[];
  replyTo?: string;
  subject: string;
  /** Plain text; any line ends. */
  body: string;
  date: Date;
  /** Without angle brackets: `local@domain`. */
  messageId: string;
}

/** A header value held a CR or LF: it would start a header of its own. */
export class HeaderInjectionError extends Error {
  constructor(readonly header: string) {
    super(`the ${header} contains a line break (CR or LF), which would inject email headers; refused`);
    this.name = 'HeaderInjectionError';
  }
}

const ATEXT_PHRASE = /^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~ ]*$/;
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;
const LINE_BREAK = /[\r\n]/;

/** Throws HeaderInjectionError when `value` holds a CR or LF. */
export function refuseLineBreaks(header: string, value: string): void {
  if (LINE_BREAK.test(value)) throw new HeaderInjectionError(header);
}

/**
 * Header text as is when it is printable ASCII without `=?`, else as RFC 2047
 * `=?UTF-8?B?…?=` words of at most 75 characters (never splitting a character),
 * folded onto continuation lines.
 * @example encodeHeaderText('Grüße') // '=?UTF-8?B?R3LDvMOfZQ==?='
 */
export function encodeHeaderText(text: string): string {
  if (PRINTABLE_ASCII.test(text) && !text.includes('=?')) return text;
  const words: string[] = [];
  let bytes: Buffer[] = [];
  let size = 0;
  // 45 bytes make 60 base64 characters: with `=?UTF-8?B?` and `?=`, 72.
  for (const cp of text) {
    const b = Buffer.from(cp, 'utf8');
    if (size + b.length > 45) {
      words.push(Buffer.concat(bytes).toString('base64'));
      bytes = [];
      size = 0;
    }
    bytes.push(b);
    size += b.length;
  }
  if (size > 0) words.push(Buffer.concat(bytes).toString('base64'));
  return words.map((w) => `=?UTF-8?B?${w}?=`).join('\r\n ');
}

/** A mailbox (`address` or `Name <address>`) with its display name quoted or encoded as needed. */
export function formatMailbox(mailbox: string): string {
  const m = /^\s*(.*?)\s*<([^<>]+)>\s*$/.exec(mailbox);
  if (!m) return mailbox.trim();
  const [, name, address] = m as unknown as [string, string, string];
  if (!name) return address;
  const unquoted = name.replace(/^"(.*)"$/, '$1');
  if (ATEXT_PHRASE.test(unquoted)) return `${unquoted} <${address}>`;
  if (PRINTABLE_ASCII.test(unquoted)) return `"${unquoted.replace(/(["\\])/g, '\\$1')}" <${address}>`;
  return `${encodeHeaderText(unquoted)} <${address}>`;
}

/** The address part of a mailbox. */
export function addressOf(mailbox: string): string {
  return /<([^<>]+)>\s*$/.exec(mailbox)?.[1] ?? mailbox.trim();
}

/**
 * UTF-8 quoted-printable (RFC 2045 §6.7): lines of at most 76 characters with
 * soft breaks, `=` and bytes outside printable ASCII as `=XX`, whitespace before a
 * line end encoded, CRLF line ends.
 */
export function quotedPrintable(text: string): string {
  return text.split(/\r\n|\r|\n/).map(qpLine).join('\r\n');
}

function qpLine(line: string): string {
  const bytes = Buffer.from(line, 'utf8');
  let out = '';
  let cur = '';
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    const last = i === bytes.length - 1;
    const literal = (b >= 33 && b <= 126 && b !== 61) || ((b === 32 || b === 9) && !last);
    const token = literal ? String.fromCharCode(b) : `=${b.toString(16).toUpperCase().padStart(2, '0')}`;
    if (cur.length + token.length > 75) {
      out += `${cur}=\r\n`;
      cur = '';
    }
    cur += token;
  }
  return out + cur;
}

/** RFC 5322 date: `Mon, 05 Jan 2026 09:00:00 +0000`. */
export function rfc5322Date(d: Date): string {
  return d.toUTCString().replace(/GMT$/, '+0000');
}

/** A Message-ID stable for one key (the effect id): a resend after a crash carries the same one. */
export function messageIdFor(key: string, from: string): string {
  const domain = addressOf(from).split('@')[1] ?? 'cadre.invalid';
  return `${createHash('sha256').update(key).digest('hex').slice(0, 32)}@${domain}`;
}

/**
 * The message as text, ready for base64url (Gmail's `raw`). Throws
 * HeaderInjectionError if any header value holds a line break.
 */
export function buildMessage(m: MailMessage): string {
  refuseLineBreaks('subject', m.subject);
  refuseLineBreaks('from address', m.from);
  for (const a of [...m.to, ...(m.cc ?? []), ...(m.replyTo ? [m.replyTo] : [])]) refuseLineBreaks('recipient address', a);
  const headers = [
    `From: ${formatMailbox(m.from)}`,
    `To: ${m.to.join(', ')}`,
    ...(m.cc?.length ? [`Cc: ${m.cc.join(', ')}`] : []),
    ...(m.replyTo ? [`Reply-To: ${m.replyTo}`] : []),
    `Subject: ${encodeHeaderText(m.subject)}`,
    `Date: ${rfc5322Date(m.date)}`,
    `Message-ID: <${m.messageId}>`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=UTF-8',
    'Content-Transfer-Encoding: quoted-printable',
  ];
  return `${headers.join('\r\n')}\r\n\r\n${quotedPrintable(m.body)}`;
}

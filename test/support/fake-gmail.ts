/**
 * A fake Gmail API on 127.0.0.1 (port 0) speaking the wire format of
 * `POST /gmail/v1/users/me/messages/send`: it checks the Bearer token, decodes
 * `raw` (base64url RFC 2822), records the message with its headers unfolded and
 * decoded (RFC 2047 words) and its body decoded (quoted-printable or base64), and
 * answers `{ id, threadId, labelIds }`. Errors are Google's JSON error shape.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One message the fake accepted (or was asked to accept). */
export interface GmailMessage {
  /** The raw message as text, as decoded from base64url. */
  text: string;
  /** The header block as sent (folded, encoded). */
  rawHeaders: string;
  /** Header names in lower case, values unfolded and decoded. */
  headers: Record<string, string>;
  /** The body decoded by its Content-Transfer-Encoding and charset. */
  body: string;
  /** The body as sent. */
  rawBody: string;
  /** The id it was given (null when the fake answered an error). */
  id: string | null;
}

/** How to answer one send. */
export interface GmailAnswer {
  status: number;
  /** Google's error status, e.g. UNAUTHENTICATED, RESOURCE_EXHAUSTED. */
  errorStatus?: string;
  reason?: string;
  message?: string;
  delayMs?: number;
}

/** A running fake. */
export interface FakeGmail {
  /** For CADRE_GMAIL_BASE_URL. */
  readonly baseUrl: string;
  /** The token it accepts. */
  readonly token: string;
  /** Messages it accepted. */
  readonly sent: GmailMessage[];
  /** Every request that reached the send route, accepted or not. */
  readonly requests: { authorization: string | undefined; status: number }[];
  /** Answers the next sends in this order; then normally again. */
  script(...answers: GmailAnswer[]): void;
  close(): Promise<void>;
}

/** Decodes RFC 2047 encoded words (B and Q) in a header value; adjacent words join without the space between them. */
export function decodeWords(value: string): string {
  return value
    .replace(/(=\?[^?]+\?[BbQq]\?[^?]*\?=)\s+(?==\?)/g, '$1')
    .replace(/=\?([^?]+)\?([BbQq])\?([^?]*)\?=/g, (_m, _charset: string, enc: string, text: string) =>
      enc.toUpperCase() === 'B'
        ? Buffer.from(text, 'base64').toString('utf8')
        : Buffer.from(text.replace(/_/g, ' ').replace(/=([0-9A-Fa-f]{2})/g, (_x, h: string) => String.fromCharCode(parseInt(h, 16))), 'latin1').toString('utf8'),
    );
}

/** Decodes quoted-printable to UTF-8 text. */
export function decodeQuotedPrintable(text: string): string {
  const soft = text.replace(/=\r?\n/g, '');
  const bytes: number[] = [];
  for (let i = 0; i < soft.length; i++) {
    const c = soft[i]!;
    if (c === '=' && /^[0-9A-Fa-f]{2}$/.test(soft.slice(i + 1, i + 3))) {
      bytes.push(parseInt(soft.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(...Buffer.from(c, 'utf8'));
  }
  return Buffer.from(bytes).toString('utf8');
}

/** Parses an RFC 2822 message. */
export function parseMessage(text: string): Omit<GmailMessage, 'id'> {
  const split = text.indexOf('\r\n\r\n');
  const rawHeaders = split < 0 ? text : text.slice(0, split);
  const rawBody = split < 0 ? '' : text.slice(split + 4);
  const headers: Record<string, string> = {};
  for (const h of rawHeaders.replace(/\r\n(?=[ \t])/g, '').split('\r\n')) {
    const i = h.indexOf(':');
    if (i > 0) headers[h.slice(0, i).trim().toLowerCase()] = decodeWords(h.slice(i + 1).trim());
  }
  const cte = (headers['content-transfer-encoding'] ?? '7bit').toLowerCase();
  const body = cte === 'quoted-printable' ? decodeQuotedPrintable(rawBody) : cte === 'base64' ? Buffer.from(rawBody, 'base64').toString('utf8') : rawBody;
  return { text, rawHeaders, headers, body, rawBody };
}

/**
 * Starts a fake Gmail.
 * @example const gmail = await startFakeGmail(); config CADRE_GMAIL_BASE_URL=gmail.baseUrl, CADRE_GMAIL_ACCESS_TOKEN=gmail.token
 */
export async function startFakeGmail(token = 'ya29.fake-access-token'): Promise<FakeGmail> {
  const sent: GmailMessage[] = [];
  const requests: FakeGmail['requests'] = [];
  let queue: GmailAnswer[] = [];
  let n = 0;
  const error = (status: number, errorStatus: string, message: string, reason?: string) => ({
    error: { code: status, message, status: errorStatus, errors: [{ message, domain: 'global', reason: reason ?? errorStatus.toLowerCase() }] },
  });
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const reply = (status: number, body: unknown) => {
        if (req.url === '/gmail/v1/users/me/messages/send') requests.push({ authorization: req.headers.authorization, status });
        if (!res.destroyed) res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8' }).end(JSON.stringify(body));
      };
      if (req.method !== 'POST' || req.url !== '/gmail/v1/users/me/messages/send') return reply(404, error(404, 'NOT_FOUND', `no route ${req.method} ${req.url}`));
      if (req.headers.authorization !== `Bearer ${token}`) {
        return reply(401, error(401, 'UNAUTHENTICATED', 'Request had invalid authentication credentials. Expected OAuth 2 access token.', 'authError'));
      }
      let raw: unknown;
      try {
        raw = (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { raw?: unknown }).raw;
      } catch {
        raw = undefined;
      }
      if (typeof raw !== 'string' || !/^[A-Za-z0-9_-]+={0,2}$/.test(raw)) return reply(400, error(400, 'INVALID_ARGUMENT', "Invalid value for ByteString: 'raw'", 'invalidArgument'));
      const message: GmailMessage = { ...parseMessage(Buffer.from(raw, 'base64url').toString('utf8')), id: null };
      const a = queue.shift();
      const answer = () => {
        if (a && a.status >= 300) {
          return reply(a.status, error(a.status, a.errorStatus ?? 'INTERNAL', a.message ?? 'scripted failure', a.reason));
        }
        if (!message.headers.to && !message.headers.cc) return reply(400, error(400, 'FAILED_PRECONDITION', 'Recipient address required', 'failedPrecondition'));
        message.id = `18c${(++n).toString(16).padStart(13, '0')}`;
        sent.push(message);
        reply(200, { id: message.id, threadId: message.id, labelIds: ['SENT'] });
      };
      if (a?.delayMs) setTimeout(answer, a.delayMs);
      else answer();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    token,
    sent,
    requests,
    script: (...answers) => void (queue = answers),
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

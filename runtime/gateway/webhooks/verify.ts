import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/** The signature header: `X-Cadre-Signature: sha256=<hex HMAC-SHA256 of the raw body>`. */
export const SIGNATURE_HEADER = 'x-cadre-signature';

/**
 * The `X-Cadre-Signature` value for a body: `sha256=` and the hex HMAC-SHA256 of
 * the raw bytes with the secret. For senders (and tests).
 * @example fetch(url, { method: 'POST', body, headers: { 'x-cadre-signature': sign(secret, body) } })
 */
export function sign(secret: string, raw: Buffer | string): string {
  return `sha256=${createHmac('sha256', secret).update(raw).digest('hex')}`;
}

/**
 * Checks `X-Cadre-Signature` against each candidate secret, in constant time per
 * secret (every candidate is checked, whichever matches).
 */
export function verifySignature(raw: Buffer, header: string | undefined, secrets: readonly string[]): 'ok' | 'missing' | 'bad' {
  if (header === undefined || header.trim() === '') return 'missing';
  const m = /^sha256=([0-9a-fA-F]{64})$/.exec(header.trim());
  if (!m) return 'bad';
  const given = Buffer.from(m[1]!, 'hex');
  let ok = false;
  for (const secret of secrets) {
    const expected = createHmac('sha256', secret).update(raw).digest();
    if (timingSafeEqual(expected, given)) ok = true;
  }
  return ok ? 'ok' : 'bad';
}

/** HTTP Basic credentials of an `Authorization` header, or null when there are none. */
export function parseBasic(header: string | undefined): { user: string; password: string } | null {
  if (!header) return null;
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (!m) return null;
  const text = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = text.indexOf(':');
  if (colon < 0) return null;
  return { user: text.slice(0, colon), password: text.slice(colon + 1) };
}

/**
 * Checks a password against each candidate secret in constant time: both sides
 * are hashed first, so neither the length nor the content leaks through timing.
 */
export function verifyPassword(password: string, secrets: readonly string[]): boolean {
  const given = createHash('sha256').update(password).digest();
  let ok = false;
  for (const secret of secrets) {
    if (timingSafeEqual(createHash('sha256').update(secret).digest(), given)) ok = true;
  }
  return ok;
}

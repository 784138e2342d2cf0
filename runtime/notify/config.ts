/**
 * Options of notifications and email delivery, read from the environment once,
 * checked (naming the variable) and frozen. A bad value is refused, never adjusted.
 */
import { z } from 'zod';
import { ConfigError } from '../config.ts';

const ms = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

/** An http(s) URL; the environment's webhook may point anywhere the operator chooses. */
const HttpUrl = z.string().refine((v) => {
  try {
    return ['http:', 'https:'].includes(new URL(v).protocol);
  } catch {
    return false;
  }
}, 'must be an http:// or https:// URL');

/** `Name <address>` or `address`. */
const MAILBOX = /^(?:[^<>\r\n]{1,200} <[^\s<>@]+@[^\s<>@]+\.[^\s<>@]+>|[^\s<>@]+@[^\s<>@]+\.[^\s<>@]+)$/;

/** The options; each names its environment variable. */
export const NotifyConfig = z
  .object({
    /** `CADRE_NOTIFY_WEBHOOK_URL`: where notifications go for tenants that set no webhook of their own (a Slack incoming webhook). Unset: recorded only. */
    webhookUrl: HttpUrl.optional(),
    /** `CADRE_NOTIFY_TIMEOUT_MS`: how long a webhook post may take. @default 10000 */
    webhookTimeoutMs: ms(100, 120_000).default(10_000),
    /** `CADRE_ALERT_THROTTLE_MS`: an alert whose topic had an alert delivered this recently is recorded as throttled, not posted. @default 3600000 (1 h) */
    alertThrottleMs: ms(0, 30 * 24 * 3600 * 1000).default(3600 * 1000),
    /** `CADRE_GMAIL_ACCESS_TOKEN`: an OAuth access token with the gmail.send scope. Unset: emails are recorded and logged, not sent. */
    gmailAccessToken: z.string().min(1).optional(),
    /** `CADRE_GMAIL_BASE_URL` @default 'https://gmail.googleapis.com' */
    gmailBaseUrl: HttpUrl.default('https://gmail.googleapis.com'),
    /** `CADRE_MAIL_FROM`: the From of every email, `Name <address>` or `address`; required with Gmail. */
    mailFrom: z.string().regex(MAILBOX, 'must be an address or "Name <address>", e.g. "Acme Ops <ops@acme.example>"').optional(),
    /** `CADRE_MAIL_TIMEOUT_MS`: how long one Gmail call may take. @default 10000 */
    mailTimeoutMs: ms(100, 120_000).default(10_000),
  })
  .refine((c) => !c.gmailAccessToken || c.mailFrom, {
    message: 'is required when CADRE_GMAIL_ACCESS_TOKEN is set: the address Gmail sends as, e.g. "Acme Ops <ops@acme.example>"',
    path: ['mailFrom'],
  });
/** The validated, frozen options. */
export type NotifyConfig = Readonly<z.infer<typeof NotifyConfig>>;

const ENV: Record<string, keyof z.input<typeof NotifyConfig>> = {
  CADRE_NOTIFY_WEBHOOK_URL: 'webhookUrl',
  CADRE_NOTIFY_TIMEOUT_MS: 'webhookTimeoutMs',
  CADRE_ALERT_THROTTLE_MS: 'alertThrottleMs',
  CADRE_GMAIL_ACCESS_TOKEN: 'gmailAccessToken',
  CADRE_GMAIL_BASE_URL: 'gmailBaseUrl',
  CADRE_MAIL_FROM: 'mailFrom',
  CADRE_MAIL_TIMEOUT_MS: 'mailTimeoutMs',
};

/**
 * Reads the options from the environment (and overrides), validates and freezes
 * them. A bad value is a ConfigError naming the variable; so is a Gmail token
 * without `CADRE_MAIL_FROM`, at startup rather than at the first email.
 * @example const notify = loadNotifyConfig(process.env);
 */
export function loadNotifyConfig(env: NodeJS.ProcessEnv = process.env, overrides: Partial<z.input<typeof NotifyConfig>> = {}): NotifyConfig {
  const raw: Record<string, unknown> = {};
  for (const [name, key] of Object.entries(ENV)) {
    const v = env[name];
    if (v !== undefined && v !== '') raw[key] = v;
  }
  const parsed = NotifyConfig.safeParse({ ...raw, ...overrides });
  if (!parsed.success) {
    const byKey = Object.fromEntries(Object.entries(ENV).map(([n, k]) => [k, n]));
    const lines = parsed.error.issues.map((i) => `${byKey[String(i.path[0])] ?? String(i.path[0])}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n  ${lines.join('\n  ')}`);
  }
  return Object.freeze(parsed.data);
}

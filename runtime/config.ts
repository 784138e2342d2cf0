import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { Token } from '../bus/index.ts';

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

/** The runtime's options, validated once and frozen. Each names its environment variable. */
export const RuntimeConfig = z
  .object({
    /** `DATABASE_URL`: PostgreSQL; unset means embedded PGlite under `dataDir`. */
    databaseUrl: z.string().regex(/^postgres(ql)?:\/\//, 'must start with postgres:// or postgresql://').optional(),
    /** `NATS_URL`: NATS with JetStream; unset means the in-process bus. */
    natsUrl: z.string().regex(/^(nats|tls):\/\//, 'must start with nats:// or tls://').optional(),
    /** `CADRE_DATA_DIR` @default './.cadre' */
    dataDir: z.string().min(1).default('./.cadre'),
    /** `PORT`: the gateway's port. @default 3000 */
    port: int(0, 65535).default(3000),
    /** `CADRE_HOST`: where the gateway listens. @default '0.0.0.0' */
    host: z.string().regex(/^[A-Za-z0-9.:_-]{1,253}$/, 'must be a host name or address, e.g. 127.0.0.1 or 0.0.0.0').default('0.0.0.0'),
    /** `CADRE_ADMIN_TOKEN`: the instance admin's bearer token. */
    adminToken: z.string().min(24, 'must be at least 24 characters').optional(),
    /** `CADRE_SUBJECT_PREFIX`: first token of every subject. @default 'cadre' */
    subjectPrefix: Token.default('cadre'),
    /** `CADRE_STREAM_PREFIX`: prefix of JetStream stream and consumer names. @default 'CADRE' */
    streamPrefix: z.string().regex(/^[A-Za-z0-9_-]{1,32}$/).default('CADRE'),
    /** `CADRE_PARTITIONS`: mailbox partitions, the unit of scale-out (at most this many processes share the work); fixed for the life of a deployment. Fewer consumers cost NATS less: 8 measured faster than 16 on one node. @default 8 */
    partitions: int(1, 1024).default(8),
    /** `CADRE_NODE_ID`: this process's name for partition leases. @default '<host>-<pid>-<random>' */
    nodeId: z.string().regex(/^[A-Za-z0-9_.-]{1,100}$/).default(() => `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`),
    /** `CADRE_LANES`: commit pipelines per process. @default 2 */
    lanes: int(1, 64).default(2),
    /** `CADRE_MAX_BATCH`: messages per commit. @default 256 */
    maxBatch: int(1, 10_000).default(256),
    /** `CADRE_MAX_MESSAGE_BYTES` @default 262144 */
    maxMessageBytes: int(1024, 8 * 1024 * 1024).default(256 * 1024),
    /** `CADRE_MAX_ACTIVE_ACTORS`: actors kept in memory before the least recently used are passivated. @default 100000 */
    maxActiveActors: int(100, 10_000_000).default(100_000),
    /** `CADRE_IDLE_MS`: an actor idle this long is passivated. @default 600000 */
    idleMs: int(1000, 7 * 24 * 3600 * 1000).default(600_000),
    /** `CADRE_POISON_LIMIT`: redeliveries after a crash before a message is set aside. @default 5 */
    poisonLimit: int(1, 100).default(5),
    /** `CADRE_LEASE_TTL_MS` @default 10000 */
    leaseTtlMs: int(1000, 600_000).default(10_000),
    /** `CADRE_LEASE_RENEW_MS` @default 2000 */
    leaseRenewMs: int(100, 60_000).default(2_000),
    /** `CADRE_DEFAULT_AUTONOMY`: the level where no tenant, agent or action type has one. @default 'supervised' */
    defaultAutonomy: z.enum(['supervised', 'semi_autonomous', 'autonomous']).default('supervised'),
    /** `CADRE_APPROVAL_TTL_MS`: how long an approval waits before it expires, unless the tenant or the gate says otherwise. @default 172800000 (48 h) */
    approvalTtlMs: int(60_000, 90 * 24 * 3600 * 1000).default(48 * 3600 * 1000),
    /** `CADRE_LEARN_AFTER`: consecutive approvals of one action type for one agent before Cadre proposes a level change. @default 10 */
    learnAfter: int(1, 10_000).default(10),
    /** `CADRE_DRY_RUN`: every tenant in dry-run (effects are recorded as would-have-run, never run). @default false */
    dryRun: z.union([z.boolean(), z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1')]).default(false),
    /** `CADRE_MAX_RECIPIENTS`: most recipients of one outbound message (the no-spam policy). @default 25 */
    maxRecipients: int(1, 10_000).default(25),
    /** `CADRE_TIMEZONE`: the time zone of a tenant's schedules when they are first created (an IANA name). @default 'UTC' */
    timezone: z
      .string()
      .refine((tz) => validTimeZone(tz), 'must be an IANA time zone such as UTC or America/New_York')
      .default('UTC'),
    /** `CADRE_SCHEDULE_GRACE_MS`: an occurrence later than this when the scheduler sees it was missed while down (its schedule's policy applies). @default 300000 */
    scheduleGraceMs: int(1000, 7 * 24 * 3600 * 1000).default(300_000),
    /** `CADRE_SCHEDULER_TICK_MS`: how often the scheduler looks for due occurrences and queued runs. @default 15000 */
    schedulerTickMs: int(100, 3600_000).default(15_000),
    /** `CADRE_PLANNING_CONCURRENCY`: runs one process plans at once. @default 2 */
    planningConcurrency: int(1, 64).default(2),
    /** `CADRE_LOG_LEVEL` @default 'info' */
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  })
  .refine((c) => c.leaseRenewMs * 2 <= c.leaseTtlMs, {
    message: 'CADRE_LEASE_RENEW_MS must be at most half of CADRE_LEASE_TTL_MS, or leases lapse between renewals',
    path: ['leaseRenewMs'],
  });
/** The runtime's validated options. */
export type RuntimeConfig = Readonly<z.infer<typeof RuntimeConfig>>;

const ENV: Record<string, keyof z.input<typeof RuntimeConfig>> = {
  DATABASE_URL: 'databaseUrl',
  NATS_URL: 'natsUrl',
  CADRE_DATA_DIR: 'dataDir',
  PORT: 'port',
  CADRE_HOST: 'host',
  CADRE_ADMIN_TOKEN: 'adminToken',
  CADRE_SUBJECT_PREFIX: 'subjectPrefix',
  CADRE_STREAM_PREFIX: 'streamPrefix',
  CADRE_PARTITIONS: 'partitions',
  CADRE_NODE_ID: 'nodeId',
  CADRE_LANES: 'lanes',
  CADRE_MAX_BATCH: 'maxBatch',
  CADRE_MAX_MESSAGE_BYTES: 'maxMessageBytes',
  CADRE_MAX_ACTIVE_ACTORS: 'maxActiveActors',
  CADRE_IDLE_MS: 'idleMs',
  CADRE_POISON_LIMIT: 'poisonLimit',
  CADRE_LEASE_TTL_MS: 'leaseTtlMs',
  CADRE_LEASE_RENEW_MS: 'leaseRenewMs',
  CADRE_LOG_LEVEL: 'logLevel',
  CADRE_DEFAULT_AUTONOMY: 'defaultAutonomy',
  CADRE_APPROVAL_TTL_MS: 'approvalTtlMs',
  CADRE_LEARN_AFTER: 'learnAfter',
  CADRE_DRY_RUN: 'dryRun',
  CADRE_MAX_RECIPIENTS: 'maxRecipients',
  CADRE_TIMEZONE: 'timezone',
  CADRE_SCHEDULE_GRACE_MS: 'scheduleGraceMs',
  CADRE_SCHEDULER_TICK_MS: 'schedulerTickMs',
  CADRE_PLANNING_CONCURRENCY: 'planningConcurrency',
};

/** Whether `tz` is a time zone this Node knows. */
export function validTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** A configuration value was refused; the message names the variable and the rule. */
export class ConfigError extends Error {
  readonly code = 'CONFIG_INVALID';
}

/**
 * Reads the configuration from the environment (and overrides), validates it and
 * freezes it. A bad value is an error naming the environment variable.
 * @example const config = loadConfig(process.env, { partitions: 4 });
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: Partial<z.input<typeof RuntimeConfig>> = {}): RuntimeConfig {
  const raw: Record<string, unknown> = {};
  for (const [name, key] of Object.entries(ENV)) {
    const v = env[name];
    if (v !== undefined && v !== '') raw[key] = v;
  }
  const parsed = RuntimeConfig.safeParse({ ...raw, ...overrides });
  if (!parsed.success) {
    const byKey = Object.fromEntries(Object.entries(ENV).map(([n, k]) => [k, n]));
    const lines = parsed.error.issues.map((i) => `${byKey[String(i.path[0])] ?? String(i.path[0])}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n  ${lines.join('\n  ')}`);
  }
  return Object.freeze(parsed.data);
}

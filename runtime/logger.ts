import { pino, type Logger as PinoLogger } from 'pino';

/** The runtime's logger: structured JSON lines (pino). */
export type Logger = PinoLogger;

/**
 * Creates the logger. `CADRE_LOG_LEVEL` sets the level (default `info`); tests
 * pass `silent`.
 * @example const log = createLogger({ level: 'debug' });
 */
export function createLogger(opts: { level?: string; name?: string } = {}): Logger {
  return pino({ name: opts.name ?? 'cadre', level: opts.level ?? process.env.CADRE_LOG_LEVEL ?? 'info' });
}

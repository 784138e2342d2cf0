/**
 * runtime/: the actor host and what it stands on. Other folders import only from here.
 */
export { Runtime, createRuntime, type RuntimeOptions, type RuntimeState } from './runtime.ts';
export { loadConfig, RuntimeConfig, ConfigError } from './config.ts';
export { systemClock, ManualClock, clockFromEnv, type Clock } from './clock.ts';
export { createLogger, type Logger } from './logger.ts';
export { TerminalEffectError, type EffectHandler, type EffectRequest, type PendingEffect } from './effects.ts';
export * from './gate/index.ts';
export { SendTimeoutError, MessageTooLargeError, type SendOptions } from './send.ts';
export { OperatorError, type DeadLetter, type ActorView, type JournalEntry } from './operator.ts';
export { ReadModel, ActorQuery, ReadQueryError, type ReadItem, type Page } from './read/index.ts';

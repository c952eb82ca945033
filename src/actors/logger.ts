// Structured logging for kplane processes: pino, with the process's node id on every line,
// constant messages and fields for the rest (`err` for errors), secrets redacted. In simulation the
// timestamps come from the injected (virtual) clock so that logs replay with the run.
import { pino, type DestinationStream, type Level, type Logger } from 'pino';
import type { Clock } from './clock.js';
import type { NodeId } from './transport.js';

/** Field names whose values never reach a log line, at the top level and one level down. */
const REDACTED_FIELDS = ['secret', 'token', 'authorization', 'password'];
const REDACT_PATHS = [...REDACTED_FIELDS, ...REDACTED_FIELDS.map((field) => `*.${field}`)];

export interface LoggerOptions {
  readonly node: NodeId;
  readonly level?: Level | 'silent';
  /** Default: stdout. */
  readonly destination?: DestinationStream;
  /** When given (simulation), timestamps are this clock's milliseconds. */
  readonly clock?: Clock;
}

export function createLogger(options: LoggerOptions): Logger {
  const clock = options.clock;
  const settings = {
    level: options.level ?? 'info',
    base: { node: options.node },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    timestamp: clock === undefined ? pino.stdTimeFunctions.epochTime : () => `,"time":${clock.now()}`,
  };
  return options.destination === undefined ? pino(settings) : pino(settings, options.destination);
}

/** A logger that writes nothing, for tests. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

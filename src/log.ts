import { createRequire } from 'node:module';
import { isatty } from 'node:tty';
import { pino, destination as fileDestination, type DestinationStream } from 'pino';
import type pretty from 'pino-pretty';
import { requestField, type RequestContext } from './request-context.js';

const levels = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof levels)[number];

/**
 * What the code logs through. Objects among `rest` become fields of the JSON line, an Error its `err`
 * field, anything else is appended to the message.
 */
export interface Logger {
  /** The lowest level written, when known: a line below it need not be built. */
  readonly level?: LogLevel;
  debug(message: string, ...rest: unknown[]): void;
  info(message: string, ...rest: unknown[]): void;
  warn(message: string, ...rest: unknown[]): void;
  error(message: string, ...rest: unknown[]): void;
}

/** Field names whose values are secrets wherever they sit in a logged object (errors of HTTP clients carry request headers). */
const secretFields = [
  'authorization', 'Authorization', 'cookie', 'token', 'accessToken', 'access_token', 'refreshToken', 'refresh_token',
  'clientSecret', 'client_secret', 'signingSecret', 'botToken', 'appToken', 'password', 'secret', 'DATABASE_URL', 'connectionString',
];
const secretFieldNames = new Set(secretFields);
// Up to three levels down: an error's `config.headers.Authorization` is one.
export const redactPaths = secretFields.flatMap((field) => [field, `*.${field}`, `*.*.${field}`, `*.*.*.${field}`]);

const censor = '[Redacted]';

/** What each replacement below looks for, as one test (loosely: it only decides whether they run). */
const mayHoldToken = /xox[a-z]-|xapp-|bearer\s|:\/\/[^\s:/@"]+:[^\s@"/]+@/i;

/**
 * The last line of defence, on the serialized line: the configured secrets themselves (also as JSON escapes
 * them), Slack tokens, bearer tokens and URL passwords, wherever they ended up (an error message, a stack).
 */
export function secretScrubber(secrets: (string | undefined)[]): (line: string) => string {
  // Shorter values would blank out ordinary words; every secret setting is longer.
  const values = [...new Set(secrets.filter((s): s is string => !!s && s.length >= 8).flatMap((s) => [s, JSON.stringify(s).slice(1, -1)]))];
  values.sort((a, b) => b.length - a.length);
  return (line) => {
    for (const value of values) if (line.includes(value)) line = line.split(value).join(censor);
    // One test first: most lines hold no token or URL password, and the four replacements cost every line.
    if (!mayHoldToken.test(line)) return line;
    return line
      .replace(/\bxox[a-z]-[A-Za-z0-9-]+/g, censor)
      .replace(/\bxapp-[A-Za-z0-9-]+/g, censor)
      .replace(/\b(Bearer\s+)[A-Za-z0-9._~+/=-]{8,}/gi, `$1${censor}`)
      .replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^\s:/@"]+:)[^\s@"/]+@/gi, `$1${censor}@`);
  };
}

/** pino's isoTime, made once a millisecond: under load several lines share one. */
let timeMs = 0;
let timeField = '';
function isoTime(): string {
  const now = Date.now();
  if (now !== timeMs) {
    timeMs = now;
    timeField = `,"time":"${new Date(now).toISOString()}"`;
  }
  return timeField;
}

export interface LoggerOptions {
  /** A file descriptor (default 1, standard output) or a stream (tests). */
  destination?: number | DestinationStream;
  /** Setting values never to be written (tokens, client secrets, the database password). */
  secrets?: (string | undefined)[];
  /**
   * The lines a descriptor is given in one turn of the event loop are written together (the server's: under
   * load, its commands then share a system call instead of one each); what waits is written when the process exits.
   */
  batched?: boolean;
}

const waiting = new Set<() => void>();
process.once('exit', () => {
  for (const flush of waiting) flush();
});

/** Synchronous writes (a line is never lost to an exit), one a turn of the event loop. */
function batchedDestination(fd: number): DestinationStream {
  const file = fileDestination({ dest: fd, sync: true });
  let lines = '';
  const flush = () => {
    waiting.delete(flush);
    const text = lines;
    lines = '';
    if (text) file.write(text);
  };
  return {
    write(line: string) {
      if (!lines) {
        waiting.add(flush);
        setImmediate(flush);
      }
      lines += line;
    },
  };
}

/**
 * JSON lines at or above `level` (pino), each with its time and level (a request's lines also its
 * requestId: forRequest). On a terminal the lines are printed readably instead (pino-pretty).
 */
export function createLogger(level: LogLevel, options: LoggerOptions = {}): Logger {
  const target = options.destination ?? 1;
  const stream =
    typeof target !== 'number' ? target
    // pino-pretty is loaded only for a terminal: a server's stdout is a pipe or a file (issue 18).
    : isatty(target) ? (createRequire(import.meta.url)('pino-pretty') as typeof pretty)({ destination: target, sync: true, colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' })
    : options.batched ? batchedDestination(target)
    : fileDestination({ dest: target, sync: true });
  const settings = {
    level,
    timestamp: isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
    hooks: { streamWrite: secretScrubber(options.secrets ?? []) },
  };
  const logger = pino({ ...settings, redact: { paths: redactPaths, censor } }, stream);
  // Redaction walks every path on every line (about 0.1 ms): a line whose fields are all plain values under
  // no secret's name (a command's or an API call's line) has nothing it could redact, so it skips it.
  const unredacted = pino(settings, stream);
  const at = (l: LogLevel) => (message: string, ...rest: unknown[]) => {
    if (!logger.isLevelEnabled(l)) return;
    const fields: Record<string, unknown> = {};
    const words: string[] = [];
    for (const value of rest) {
      if (value instanceof Error) fields.err ??= value;
      else if (value && typeof value === 'object' && !Array.isArray(value)) Object.assign(fields, value);
      else words.push(String(value));
    }
    let plain = true;
    for (const name in fields) {
      const value = fields[name];
      if ((value !== null && typeof value === 'object') || secretFieldNames.has(name)) plain = false;
    }
    (plain ? unredacted : logger)[l](fields, words.length ? `${message} ${words.join(' ')}` : message);
  };
  return { level, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

/** `log` writing the request's ID on every line: what a command, click, API call or job logs goes through it. */
export function forRequest(log: Logger, request: RequestContext | undefined): Logger {
  if (!request) return log;
  const field = requestField(request);
  return {
    level: log.level,
    debug: (message, ...rest) => log.debug(message, ...rest, field),
    info: (message, ...rest) => log.info(message, ...rest, field),
    warn: (message, ...rest) => log.warn(message, ...rest, field),
    error: (message, ...rest) => log.error(message, ...rest, field),
  };
}

const levels = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof levels)[number];

export interface Logger {
  debug(message: string, ...rest: unknown[]): void;
  info(message: string, ...rest: unknown[]): void;
  warn(message: string, ...rest: unknown[]): void;
  error(message: string, ...rest: unknown[]): void;
}

/** Console logging at or above `level`, one line per entry, prefixed with its time and level. */
export function createLogger(level: LogLevel): Logger {
  const min = levels.indexOf(level);
  const at = (l: LogLevel) => (message: string, ...rest: unknown[]) => {
    if (levels.indexOf(l) < min) return;
    (l === 'error' ? console.error : l === 'warn' ? console.warn : console.log)(`${new Date().toISOString()} ${l} ${message}`, ...rest);
  };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

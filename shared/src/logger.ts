import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger };

/**
 * One logger factory for every process. JSON to stdout; level from GATEHOUSE_LOG_LEVEL.
 * Secrets that may show up in request data are redacted.
 */
export function createLogger(name: string, options: LoggerOptions = {}): Logger {
  return pino({
    name,
    level: process.env.GATEHOUSE_LOG_LEVEL ?? 'info',
    redact: {
      paths: [
        'req.headers.authorization',
        'req.headers.cookie',
        'req.headers["x-api-key"]',
        'req.headers.apikey',
      ],
      censor: '[redacted]',
    },
    ...options,
  });
}

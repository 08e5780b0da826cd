import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';

export type { Logger };

/**
 * One logger factory for every process. JSON to stdout; level from GATEHOUSE_LOG_LEVEL.
 * Secrets that may show up in request data are redacted.
 */
export function createLogger(
  name: string,
  options: LoggerOptions = {},
  /** Where lines go (default stdout); tests pass a stream to read what was logged. */
  destination?: DestinationStream,
): Logger {
  const opts: LoggerOptions = {
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
  };
  return destination ? pino(opts, destination) : pino(opts);
}

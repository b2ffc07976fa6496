import pino from 'pino';

/**
 * One logger for the process. Secrets never reach it: every key that can hold one is redacted,
 * and connectors log references (env:NAME), never resolved values.
 */
export const log = pino({
  level: process.env.LOG_LEVEL ?? (process.env.NODE_ENV === 'test' ? 'silent' : 'info'),
  redact: {
    paths: [
      'password', '*.password', '*.*.password', 'secret', '*.secret', 'clientSecret', '*.clientSecret',
      'authorization', '*.authorization', 'headers.authorization', 'req.headers.authorization',
      'token', '*.token', 'passwordProfile', '*.passwordProfile', 'privateKey', '*.privateKey',
    ],
    censor: '[redacted]',
  },
});
export type Logger = typeof log;

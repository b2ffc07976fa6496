import pino from 'pino';
import { redactionOptions, withRedactedChildren } from './log-redaction';

/**
 * One logger for the process. Secrets never reach it: every logged value is walked and whatever
 * names or carries a secret is redacted (./log-redaction), and connectors log references
 * (env:NAME), never resolved values.
 */
export const log = withRedactedChildren(pino({
  level: process.env.LOG_LEVEL ?? (process.env.NODE_ENV === 'test' ? 'silent' : 'info'),
  ...redactionOptions,
}));
export type Logger = typeof log;

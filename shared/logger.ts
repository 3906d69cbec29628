// Root pino logger. Redaction paths cover every place a secret could ride along:
// headers, keys, credential values and private keys. Never log with console.*.
import { pino, type Logger } from 'pino';
import type { Config } from './config.ts';

export type { Logger };

export const REDACT_PATHS = [
  'authorization',
  '*.authorization',
  'headers.authorization',
  'req.headers.authorization',
  'apiKey',
  '*.apiKey',
  'api_key',
  '*.api_key',
  'key',
  '*.key_plaintext',
  'secret',
  '*.secret',
  'credential',
  '*.credential',
  'value_plaintext',
  'privateKey',
  '*.privateKey',
  'ANCHOR_PRIVATE_KEY',
  'password',
  '*.password',
];

export function createLogger(config: Pick<Config, 'logLevel'>, bindings: Record<string, unknown> = {}): Logger {
  return pino({
    level: config.logLevel,
    base: { pid: process.pid, ...bindings },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  });
}

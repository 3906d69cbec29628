// Subscribes to key revocations and evicts them from this process's key cache. While the
// subscription is down, messages may be lost, so every (re)subscription flushes the cache.
import type { Redis } from 'ioredis';
import type { Logger } from '../../shared/logger.ts';
import type { RedisKeys } from '../../shared/redis/keys.ts';
import { FLUSH_ALL } from '../../shared/keys/key-revocation.ts';
import type { ApiKeyAuthenticator } from './authenticate.ts';

export async function listenForKeyRevocations(
  subscriber: Redis,
  keys: RedisKeys,
  authenticator: ApiKeyAuthenticator,
  log: Logger,
): Promise<void> {
  subscriber.on('message', (channel: string, message: string) => {
    if (channel !== keys.keyRevokedChannel) return;
    if (message === FLUSH_ALL) authenticator.flush();
    else authenticator.invalidate(message);
  });
  subscriber.on('ready', () => {
    authenticator.flush();
    log.info('key revocation subscription (re)established; key cache flushed');
  });
  // A connection that drops can miss revocations: stop trusting the cache immediately.
  subscriber.on('close', () => authenticator.flush());
  await subscriber.subscribe(keys.keyRevokedChannel);
}

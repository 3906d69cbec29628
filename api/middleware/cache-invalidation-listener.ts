// Subscribes to key revocations and agent changes, and evicts them from this process's
// caches. While the subscription is down messages may be lost, so every (re)subscription
// and every disconnect flushes both caches.
import type { Redis } from 'ioredis';
import type { Logger } from '../../shared/logger.ts';
import type { RedisKeys } from '../../shared/redis/keys.ts';
import { FLUSH_ALL } from '../../shared/keys/key-revocation.ts';
import type { ApiKeyAuthenticator } from './authenticate.ts';
import type { AgentCache } from '../agents/agent-cache.ts';

export async function listenForInvalidations(
  subscriber: Redis,
  keys: RedisKeys,
  caches: { authenticator: ApiKeyAuthenticator; agents: AgentCache },
  log: Logger,
): Promise<void> {
  const flush = () => {
    caches.authenticator.flush();
    caches.agents.flush();
  };
  subscriber.on('message', (channel: string, message: string) => {
    if (channel === keys.keyRevokedChannel) {
      if (message === FLUSH_ALL) caches.authenticator.flush();
      else caches.authenticator.invalidate(message);
    } else if (channel === keys.agentChangedChannel) {
      const id = Number(message);
      if (Number.isSafeInteger(id)) caches.agents.invalidate(id);
      else caches.agents.flush();
    }
  });
  subscriber.on('ready', () => {
    flush();
    log.info('cache invalidation subscription (re)established; caches flushed');
  });
  // A connection that drops can miss messages: stop trusting the caches immediately.
  subscriber.on('close', flush);
  await subscriber.subscribe(keys.keyRevokedChannel, keys.agentChangedChannel);
}

// Subscribes to key revocations, agent changes and account halts, and evicts them from
// this process's caches. While the subscription is down messages may be lost, so every
// (re)subscription and every disconnect flushes every cache.
import type { Redis } from 'ioredis';
import type { Logger } from '../../shared/logger.ts';
import type { RedisKeys } from '../../shared/redis/keys.ts';
import { FLUSH_ALL } from '../../shared/keys/key-revocation.ts';
import type { ApiKeyAuthenticator } from './authenticate.ts';
import type { AgentCache } from '../agents/agent-cache.ts';
import type { AccountHaltCache } from '../agents/account-halt-cache.ts';

export async function listenForInvalidations(
  subscriber: Redis,
  keys: RedisKeys,
  caches: { authenticator: ApiKeyAuthenticator; agents: AgentCache; accountHalts: AccountHaltCache },
  log: Logger,
): Promise<void> {
  const flush = () => {
    caches.authenticator.flush();
    caches.agents.flush();
    caches.accountHalts.flush();
  };
  subscriber.on('message', (channel: string, message: string) => {
    if (channel === keys.keyRevokedChannel) {
      if (message === FLUSH_ALL) caches.authenticator.flush();
      else caches.authenticator.invalidate(message);
    } else if (channel === keys.agentChangedChannel) evictById(caches.agents, message);
    else if (channel === keys.accountHaltChangedChannel) evictById(caches.accountHalts, message);
  });
  subscriber.on('ready', () => {
    flush();
    log.info('cache invalidation subscription (re)established; caches flushed');
  });
  // A connection that drops can miss messages: stop trusting the caches immediately.
  subscriber.on('close', flush);
  await subscriber.subscribe(keys.keyRevokedChannel, keys.agentChangedChannel, keys.accountHaltChangedChannel);
}

/** A message naming an id evicts it; anything else flushes the cache rather than trusting it. */
function evictById(cache: { invalidate(id: number): void; flush(): void }, message: string): void {
  const id = Number(message);
  if (Number.isSafeInteger(id)) cache.invalidate(id);
  else cache.flush();
}

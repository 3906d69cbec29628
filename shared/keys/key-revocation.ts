// Tells every api process that a key is revoked, so cached authentications end at once.
import type { Redis } from 'ioredis';
import type { RedisKeys } from '../redis/keys.ts';

export const FLUSH_ALL = '*';

export async function publishKeyRevoked(redis: Redis, keys: RedisKeys, keyHash: string): Promise<void> {
  await redis.publish(keys.keyRevokedChannel, keyHash);
}

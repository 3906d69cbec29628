// Redis connections. BullMQ workers need maxRetriesPerRequest: null; we use the same
// settings everywhere so a connection can be handed to any part.
import { Redis } from 'ioredis';

export function connectRedis(url: string, name: string): Redis {
  return new Redis(url, {
    connectionName: name,
    maxRetriesPerRequest: null,
    enableReadyCheck: true,
    lazyConnect: false,
  });
}

/** Resolves when Redis answers PING, or rejects after timeoutMs. */
export async function pingRedis(url: string, timeoutMs: number): Promise<void> {
  const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: timeoutMs, retryStrategy: () => null });
  try {
    await probe.connect();
    await probe.ping();
  } finally {
    probe.disconnect();
  }
}

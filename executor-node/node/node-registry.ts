// The registry of live executor nodes: a Redis hash, node id -> JSON entry, refreshed by
// each node every few seconds. `lastSeen` is the liveness signal: an entry older than
// NODE_STALE_AFTER_MS belongs to a node that died without saying goodbye, and any node
// removes such entries on its heartbeat. A node removes its own entry when it stops.
import type { Redis } from 'ioredis';
import { z } from 'zod';
import type { ExecPool } from '../../shared/execution/protocol.ts';
import type { Logger } from '../../shared/logger.ts';
import type { RedisKeys } from '../../shared/redis/keys.ts';

export const NODE_HEARTBEAT_MS = 5000;
/** Readers treat an entry not refreshed for this long as a dead node; heartbeats remove it. */
export const NODE_STALE_AFTER_MS = 6 * NODE_HEARTBEAT_MS;

/** A registry entry as readers should parse it (it is read back from Redis: input). */
export const nodeEntrySchema = z.object({
  pools: z.array(z.string()),
  threads: z.number().int().nonnegative(),
  running: z.number().int().nonnegative(),
  startedAt: z.iso.datetime(),
  lastSeen: z.iso.datetime(),
});
export type NodeEntry = z.output<typeof nodeEntrySchema>;

export interface NodeRegistryDeps {
  readonly redis: Redis;
  readonly keys: RedisKeys;
  readonly nodeId: string;
  readonly pools: readonly ExecPool[];
  readonly threads: number;
  /** How many executions run now; read on each heartbeat. */
  readonly running: () => number;
  readonly log: Logger;
  readonly now?: () => number;
}

export class NodeRegistry {
  private timer: NodeJS.Timeout | null = null;
  private readonly startedAt: string;
  private readonly now: () => number;

  constructor(private readonly deps: NodeRegistryDeps) {
    this.now = deps.now ?? Date.now;
    this.startedAt = new Date(this.now()).toISOString();
  }

  async start(): Promise<void> {
    await this.beat();
    this.timer = setInterval(() => {
      this.beat().catch((err: unknown) => this.deps.log.warn({ err }, 'node heartbeat failed'));
    }, NODE_HEARTBEAT_MS);
    this.timer.unref();
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.deps.redis.hdel(this.deps.keys.nodesKey, this.deps.nodeId);
  }

  private async beat(): Promise<void> {
    const { redis, keys, nodeId } = this.deps;
    const now = this.now();
    const entry: NodeEntry = {
      pools: [...this.deps.pools],
      threads: this.deps.threads,
      running: this.deps.running(),
      startedAt: this.startedAt,
      lastSeen: new Date(now).toISOString(),
    };
    await redis.hset(keys.nodesKey, nodeId, JSON.stringify(entry));
    await this.removeStale(now);
  }

  /** Entries of nodes that stopped refreshing; an entry that does not parse is left for an operator. */
  private async removeStale(now: number): Promise<void> {
    const { redis, keys, nodeId } = this.deps;
    const all = await redis.hgetall(keys.nodesKey);
    const stale = Object.entries(all)
      .filter(([id, json]) => id !== nodeId && isStale(json, now))
      .map(([id]) => id);
    if (stale.length === 0) return;
    await redis.hdel(keys.nodesKey, ...stale);
    this.deps.log.info({ nodes: stale }, 'removed stale executor nodes from the registry');
  }
}

function isStale(json: string, now: number): boolean {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch {
    return false;
  }
  const entry = nodeEntrySchema.safeParse(raw);
  return entry.success && now - Date.parse(entry.data.lastSeen) > NODE_STALE_AFTER_MS;
}

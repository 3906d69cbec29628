// Loads the Lua scripts in this folder as ioredis commands. A script's file name ends
// in its key count (renew-lease-1.lua takes one key), as BullMQ names its commands.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Redis } from 'ioredis';

const here = path.dirname(fileURLToPath(import.meta.url));

export const SCRIPTS = ['renew-lease-1', 'release-lease-1', 'acquire-execution-slot-3'] as const;
export type ScriptName = (typeof SCRIPTS)[number];

const sources = new Map<ScriptName, { lua: string; numberOfKeys: number }>(
  SCRIPTS.map((name) => [name, { lua: readFileSync(path.join(here, `${name}.lua`), 'utf8'), numberOfKeys: Number(name.split('-').pop()) }]),
);

const loaded = new WeakSet<Redis>();

/** Defines every script on the connection once; returns a typed caller. */
export function scripts(redis: Redis): (name: ScriptName, keys: string[], args: (string | number)[]) => Promise<unknown> {
  if (!loaded.has(redis)) {
    for (const [name, { lua, numberOfKeys }] of sources) redis.defineCommand(name.replace(/-/g, '_'), { lua, numberOfKeys });
    loaded.add(redis);
  }
  return (name, keys, args) => {
    const command = (redis as unknown as Record<string, (...a: (string | number)[]) => Promise<unknown>>)[name.replace(/-/g, '_')]!;
    return command.call(redis, ...keys, ...args);
  };
}

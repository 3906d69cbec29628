// Loads the Lua scripts in this folder as ioredis commands. A script's file name ends
// in its key count (renew-lease-1.lua takes one key), as BullMQ names its commands.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChainableCommander, Redis } from 'ioredis';

const here = path.dirname(fileURLToPath(import.meta.url));

export const SCRIPTS = ['renew-lease-1', 'release-lease-1', 'acquire-execution-slot-3', 'start-unless-halted-2'] as const;
export type ScriptName = (typeof SCRIPTS)[number];

const sources = new Map<ScriptName, { lua: string; numberOfKeys: number }>(
  SCRIPTS.map((name) => [name, { lua: readFileSync(path.join(here, `${name}.lua`), 'utf8'), numberOfKeys: Number(name.split('-').pop()) }]),
);

const loaded = new WeakSet<Redis>();

type ScriptArgs = [name: ScriptName, keys: string[], args: (string | number)[]];

function defineScripts(redis: Redis): void {
  if (loaded.has(redis)) return;
  for (const [name, { lua, numberOfKeys }] of sources) redis.defineCommand(name.replace(/-/g, '_'), { lua, numberOfKeys });
  loaded.add(redis);
}

function callScript<T>(target: object, [name, keys, args]: ScriptArgs): T {
  const command = (target as Record<string, (...a: (string | number)[]) => T>)[name.replace(/-/g, '_')]!;
  return command.call(target, ...keys, ...args);
}

/** Defines every script on the connection once; returns a typed caller. */
export function scripts(redis: Redis): (...call: ScriptArgs) => Promise<unknown> {
  defineScripts(redis);
  return (...call) => callScript<Promise<unknown>>(redis, call);
}

/** A pipeline that can queue script calls (ioredis copies defined scripts into a pipeline when it is made). */
export function scriptPipeline(redis: Redis): { readonly pipeline: ChainableCommander; add(...call: ScriptArgs): void } {
  defineScripts(redis);
  const pipeline = redis.pipeline();
  return { pipeline, add: (...call) => void callScript<unknown>(pipeline, call) };
}

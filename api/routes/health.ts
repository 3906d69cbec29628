// Liveness and readiness probes for load balancers and orchestrators.
import { z } from 'zod';
import { defineRoute, type RouteSpec } from '../http/route.ts';

export interface Probe {
  readonly name: string;
  check(): Promise<void>;
}

const readiness = z.object({
  status: z.enum(['ready', 'unavailable']),
  checks: z.record(z.string(), z.object({ ok: z.boolean(), error: z.string().optional() })),
});

export function healthRoutes(probes: readonly Probe[]): RouteSpec[] {
  return [
    defineRoute({
      method: 'get',
      path: '/healthz',
      summary: 'Liveness: the process answers',
      tag: 'Health',
      auth: 'public',
      responses: { 200: { description: 'Alive', schema: z.object({ status: z.literal('ok') }) } },
      async handle() {
        return { status: 200, body: { status: 'ok' } };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/readyz',
      summary: 'Readiness: PostgreSQL and Redis are reachable',
      tag: 'Health',
      auth: 'public',
      responses: {
        200: { description: 'Every dependency answered', schema: readiness },
        503: { description: 'A dependency did not answer', schema: readiness },
      },
      async handle() {
        const results = await Promise.all(
          probes.map(async (p) => {
            try {
              await withTimeout(p.check(), 2000);
              return [p.name, { ok: true }] as const;
            } catch (err) {
              return [p.name, { ok: false, error: (err as Error).message }] as const;
            }
          }),
        );
        const ok = results.every(([, r]) => r.ok);
        return { status: ok ? 200 : 503, body: { status: ok ? 'ready' : 'unavailable', checks: Object.fromEntries(results) } };
      },
    }),
  ];
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise,
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

// A route is data: method, path, required key scope and the zod schemas of its inputs
// and outputs. The router and the OpenAPI document are both built from these specs,
// so a route cannot validate one shape and document another.
import type { Context } from 'koa';
import type { z } from 'zod';
import type { KeyScope } from '../../shared/permissions/key-scopes.ts';
import type { Principal } from '../middleware/authenticate.ts';

export type HttpMethod = 'get' | 'post' | 'put' | 'patch' | 'delete';

export interface ResponseSpec {
  readonly description: string;
  readonly schema?: z.ZodType;
  /** Non-JSON responses (SSE, CSV) name their media type. */
  readonly mediaType?: string;
}

export interface RouteInput<P, Q, B> {
  readonly params: P;
  readonly query: Q;
  readonly body: B;
  /** Present on every route whose `auth` is a scope. */
  readonly principal: Principal;
  readonly ctx: Context;
}

export interface RouteResult {
  readonly status: number;
  readonly body?: unknown;
}

export interface RouteSpec<P = unknown, Q = unknown, B = unknown> {
  readonly method: HttpMethod;
  /** Koa-router style: /api/v1/sdk/agents/:id */
  readonly path: string;
  readonly summary: string;
  readonly tag: string;
  /** The API key scope the caller needs, or 'public' for unauthenticated routes. */
  readonly auth: KeyScope | 'public';
  readonly params?: z.ZodType<P>;
  readonly query?: z.ZodType<Q>;
  readonly body?: z.ZodType<B>;
  readonly responses: Readonly<Record<number, ResponseSpec>>;
  /** Returns the response, or undefined when it wrote ctx itself (streams). */
  handle(input: RouteInput<P, Q, B>): Promise<RouteResult | undefined>;
}

/** Keeps P, Q, B inferred from the schemas at each definition site. */
export function defineRoute<P = undefined, Q = undefined, B = undefined>(spec: RouteSpec<P, Q, B>): RouteSpec {
  return spec as unknown as RouteSpec;
}

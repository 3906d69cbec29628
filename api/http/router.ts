// Builds the Koa router from route specs: authenticate, check the key scope, parse
// path, query and body with the spec's schemas, then call the handler.
import { Router } from '@koa/router';
import type { Context } from 'koa';
import { errors } from '../../shared/errors.ts';
import { keyHasScope } from '../../shared/permissions/key-scopes.ts';
import type { ApiKeyAuthenticator, Principal } from '../middleware/authenticate.ts';
import { readJsonBody } from './json-body.ts';
import { parseInput } from './parse.ts';
import type { RouteSpec } from './route.ts';

export interface RouterDeps {
  readonly authenticator: ApiKeyAuthenticator;
  readonly maxBodyBytes: number;
}

const NO_PRINCIPAL = undefined as unknown as Principal;

export function buildRouter(routes: readonly RouteSpec[], deps: RouterDeps): Router {
  const router = new Router();
  for (const spec of routes) {
    router[spec.method](spec.path, async (ctx: Context) => {
      let principal = NO_PRINCIPAL;
      if (spec.auth !== 'public') {
        principal = await deps.authenticator.authenticate(ctx.get('authorization') || undefined);
        if (!keyHasScope(principal.scopes, spec.auth)) throw errors.insufficientScope(spec.auth);
        ctx.state.principal = principal;
      }
      const params = spec.params ? parseInput(spec.params, ctx.params, 'path') : undefined;
      const query = spec.query ? parseInput(spec.query, { ...ctx.query }, 'query') : undefined;
      let body: unknown;
      if (spec.body) {
        body = parseInput(spec.body, await readJsonBody(ctx, deps.maxBodyBytes), 'body');
      }
      const result = await spec.handle({ params, query, body, principal, ctx });
      if (result) {
        ctx.status = result.status;
        if (result.body !== undefined) ctx.body = result.body;
      }
    });
  }
  return router;
}

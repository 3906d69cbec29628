// Assembles the Koa application from its parts; no business logic here.
import Koa from 'koa';
import type { Logger } from '../shared/logger.ts';
import { errorHandler } from './http/error-handler.ts';
import { buildRouter } from './http/router.ts';
import type { RouteSpec } from './http/route.ts';
import type { ApiKeyAuthenticator } from './middleware/authenticate.ts';
import { openApiRoute } from './routes/openapi.ts';

export interface AppDeps {
  readonly log: Logger;
  readonly authenticator: ApiKeyAuthenticator;
  readonly maxBodyBytes: number;
  readonly routes: readonly RouteSpec[];
  readonly version: string;
}

export function buildApp(deps: AppDeps): Koa {
  const app = new Koa({ proxy: false });
  app.silent = true;
  const routes: RouteSpec[] = [...deps.routes];
  routes.push(openApiRoute(() => routes, deps.version));
  const router = buildRouter(routes, { authenticator: deps.authenticator, maxBodyBytes: deps.maxBodyBytes });
  app.use(errorHandler(deps.log));
  app.use(router.routes());
  app.use(router.allowedMethods({ throw: false }));
  return app;
}

// Serves the OpenAPI document, built once from the same specs the router uses.
import { z } from 'zod';
import { buildOpenApiDocument } from '../http/openapi.ts';
import { defineRoute, type RouteSpec } from '../http/route.ts';

export function openApiRoute(routes: () => readonly RouteSpec[], version: string): RouteSpec {
  let document: Record<string, unknown> | undefined;
  return defineRoute({
    method: 'get',
    path: '/api/v1/openapi.json',
    summary: 'This OpenAPI 3.1 document',
    tag: 'Meta',
    auth: 'public',
    responses: { 200: { description: 'OpenAPI 3.1 document', schema: z.record(z.string(), z.unknown()) } },
    async handle() {
      document ??= buildOpenApiDocument(routes(), { title: 'ThetaZero governed agent runtime', version });
      return { status: 200, body: document };
    },
  });
}

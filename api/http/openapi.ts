// Generates the OpenAPI 3.1 document from the route specs themselves.
import { z } from 'zod';
import { KEY_SCOPE_DESCRIPTIONS } from '../../shared/permissions/key-scopes.ts';
import type { RouteSpec } from './route.ts';

type JsonSchema = Record<string, unknown>;

function toSchema(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const json = z.toJSONSchema(schema, { target: 'draft-2020-12', io, unrepresentable: 'any', reused: 'inline' }) as JsonSchema;
  delete json.$schema;
  return json;
}

function objectProperties(schema: z.ZodType): [string, JsonSchema, boolean][] {
  const json = toSchema(schema, 'input');
  const properties = (json.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set((json.required ?? []) as string[]);
  return Object.entries(properties).map(([name, s]) => [name, s, required.has(name)]);
}

export interface OpenApiInfo {
  readonly title: string;
  readonly version: string;
}

export function buildOpenApiDocument(routes: readonly RouteSpec[], info: OpenApiInfo): JsonSchema {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const path = route.path.replace(/:([A-Za-z_]+)/g, '{$1}');
    const parameters = [
      ...(route.params ? objectProperties(route.params).map(([name, schema]) => ({ name, in: 'path', required: true, schema })) : []),
      ...(route.query ? objectProperties(route.query).map(([name, schema, required]) => ({ name, in: 'query', required, schema })) : []),
    ];
    const responses = Object.fromEntries(
      Object.entries(route.responses).map(([status, r]) => [
        status,
        {
          description: r.description,
          ...(r.schema || r.mediaType
            ? { content: { [r.mediaType ?? 'application/json']: r.schema ? { schema: toSchema(r.schema, 'output') } : {} } }
            : {}),
        },
      ]),
    );
    (paths[path] ??= {})[route.method] = {
      summary: route.summary,
      tags: [route.tag],
      ...(route.auth === 'public'
        ? { security: [] }
        : { security: [{ apiKey: [] }], 'x-required-key-scope': route.auth, description: `Requires the API key scope \`${route.auth}\` (or \`admin\`).` }),
      ...(parameters.length > 0 ? { parameters } : {}),
      ...(route.body ? { requestBody: { required: true, content: { 'application/json': { schema: toSchema(route.body, 'input') } } } } : {}),
      responses,
    };
  }
  return {
    openapi: '3.1.0',
    info: { title: info.title, version: info.version, description: 'Governed runtime for enterprise AI agents.' },
    servers: [{ url: '/' }],
    components: {
      securitySchemes: {
        apiKey: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'tzk_ API key',
          description: `Authorization: Bearer tzk_... Key scopes: ${Object.entries(KEY_SCOPE_DESCRIPTIONS)
            .map(([s, d]) => `${s} (${d})`)
            .join('; ')}`,
        },
      },
      schemas: { Error: toSchema(z.object({ error: z.object({ code: z.string(), message: z.string(), details: z.record(z.string(), z.unknown()).optional() }) }), 'output') },
    },
    paths,
  };
}

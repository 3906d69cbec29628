// Generates the OpenAPI 3.1 document from the route specs themselves.
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { KEY_SCOPE_DESCRIPTIONS } from '../../shared/permissions/key-scopes.ts';
import { errorBody } from '../schemas/common.ts';
import type { RouteSpec } from './route.ts';

type JsonSchema = Record<string, unknown>;
type Io = 'input' | 'output';

const pointerSegment = (name: string) => name.replace(/~/g, '~0').replace(/\//g, '~1');

/** Recursive schemas without an id (z.json()) are named by their shape, the same in either pass. */
function anonymousName(localName: string, def: JsonSchema): string {
  const shape = JSON.stringify(def).replaceAll(JSON.stringify(`#/$defs/${pointerSegment(localName)}`), '"#"');
  return `Recursive_${createHash('sha256').update(shape).digest('hex').slice(0, 8)}`;
}

/**
 * Converts every schema of one io in a single zod pass, so zod names each definition once
 * (schemas with a meta id under that id) and itself refuses two different schemas with the
 * same id within the pass; `owners` does the same across passes. Zod writes the definitions
 * to a `$defs` that nothing could resolve once embedded in an OpenAPI document, so they move
 * to `components.schemas` and every `$ref` follows them.
 */
function convertAll(
  schemas: readonly z.ZodType[],
  io: Io,
  components: Record<string, JsonSchema>,
  owners: Map<string, unknown>,
): Map<z.ZodType, JsonSchema> {
  const fail = (message: string): never => {
    throw new Error(`Cannot build the OpenAPI document: ${message}`);
  };
  const unique = [...new Set(schemas)];
  const wrapper = z.object(Object.fromEntries(unique.map((schema, i) => [String(i), schema])));
  const claims: [string, unknown][] = [];
  let json: { properties: Record<string, JsonSchema>; $defs?: Record<string, JsonSchema> };
  try {
    json = z.toJSONSchema(wrapper, {
      target: 'draft-2020-12',
      io,
      unrepresentable: 'any',
      reused: 'inline',
      override: ({ zodSchema }) => {
        const id = z.globalRegistry.get(zodSchema)?.id;
        if (id !== undefined) claims.push([id, zodSchema]);
      },
    }) as typeof json;
  } catch (err) {
    throw new Error(`Cannot build the OpenAPI document: ${(err as Error).message}`, { cause: err });
  }
  for (const [id, schema] of claims) {
    if ((owners.get(id) ?? schema) !== schema) fail(`two different schemas claim the id "${id}"`);
    owners.set(id, schema);
  }
  const defs = Object.entries(json.$defs ?? {}).map(([name, def]) => [/^__schema\d+$/.test(name) ? anonymousName(name, def) : name, name, def] as const);
  const refs = new Map(defs.map(([name, local]) => [`#/$defs/${pointerSegment(local)}`, `#/components/schemas/${pointerSegment(name)}`]));
  const rewrite = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(rewrite);
    if (node === null || typeof node !== 'object') return;
    const schema = node as JsonSchema;
    if (typeof schema.$ref === 'string' && !schema.$ref.startsWith('#/components/')) {
      schema.$ref = refs.get(schema.$ref) ?? fail(`zod emitted the unresolvable $ref ${schema.$ref}`);
    }
    Object.values(schema).forEach(rewrite);
  };
  rewrite(json);
  for (const [name, , def] of defs) {
    const existing = components[name];
    if (existing && JSON.stringify(existing) !== JSON.stringify(def)) {
      fail(`the schema with id "${name}" differs between request and response; give the request form its own id`);
    }
    components[name] = def;
  }
  return new Map(unique.map((schema, i) => [schema, json.properties[String(i)]!]));
}

export interface OpenApiInfo {
  readonly title: string;
  readonly version: string;
}

export function buildOpenApiDocument(routes: readonly RouteSpec[], info: OpenApiInfo): JsonSchema {
  const components: Record<string, JsonSchema> = {};
  const owners = new Map<string, unknown>();
  const defined = (s: z.ZodType | undefined): s is z.ZodType => s !== undefined;
  const inputs = convertAll(routes.flatMap((r) => [r.params, r.query, r.body]).filter(defined), 'input', components, owners);
  // errorBody is what the router itself answers for unknown routes, so Error is always present.
  const responseSchemas = routes.flatMap((r) => Object.values(r.responses).map((res) => res.schema)).filter(defined);
  const outputs = convertAll([errorBody, ...responseSchemas], 'output', components, owners);

  const objectProperties = (schema: z.ZodType): [string, JsonSchema, boolean][] => {
    let json = inputs.get(schema)!;
    // OpenAPI lists parameters one by one, so a params or query object with an id is opened up.
    if (typeof json.$ref === 'string') json = components[json.$ref.slice('#/components/schemas/'.length)]!;
    const properties = (json.properties ?? {}) as Record<string, JsonSchema>;
    const required = new Set((json.required ?? []) as string[]);
    return Object.entries(properties).map(([name, s]) => [name, s, required.has(name)]);
  };

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
            ? { content: { [r.mediaType ?? 'application/json']: r.schema ? { schema: outputs.get(r.schema) } : {} } }
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
      ...(route.body ? { requestBody: { required: true, content: { 'application/json': { schema: inputs.get(route.body) } } } } : {}),
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
      schemas: components,
    },
    paths,
  };
}

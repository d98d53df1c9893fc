import { z } from 'zod';
import type { Route } from './routes';

const errorSchema = {
  type: 'object',
  required: ['error'],
  properties: {
    error: { type: 'object', required: ['code', 'message'], properties: { code: { type: 'string' }, message: { type: 'string' } } },
  },
};

/** `{data}` (or `{data: [...], nextCursor}`, and `followCursor` for followed lists) around a view's schema. */
function answerSchema(view: z.ZodType, list: boolean, follow = false): unknown {
  const data = z.toJSONSchema(view, { unrepresentable: 'any', io: 'output' });
  if (!list) return { type: 'object', required: ['data'], properties: { data } };
  return {
    type: 'object',
    required: ['data', 'nextCursor', ...(follow ? ['followCursor'] : [])],
    properties: {
      data: { type: 'array', items: data },
      nextCursor: { type: ['string', 'null'] },
      ...(follow ? { followCursor: { type: 'string' } } : {}),
    },
  };
}

/** An OpenAPI 3.1 document generated from the route table and its zod body schemas. */
export function buildOpenApi(routes: readonly Route[], version: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    const params = [...r.path.matchAll(/\{(\w+)\}/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: { type: 'string' } }));
    const query = (r.query ?? []).map((name) => ({ name, in: 'query', required: false, schema: { type: 'string' } }));
    (paths[r.path] ??= {})[r.method.toLowerCase()] = {
      summary: r.summary,
      tags: [r.tag],
      ...(r.public ? { security: [] } : {}),
      parameters: [...params, ...query],
      ...(r.body
        ? {
            requestBody: {
              required: true,
              content: { 'application/json': { schema: z.toJSONSchema(r.body, { unrepresentable: 'any', io: 'input' }) } },
            },
          }
        : {}),
      responses: {
        [String(r.status)]: {
          description: r.status === 204 ? 'Done; no body' : 'Success: `{ "data": ... }`',
          ...(r.response
            ? { content: { 'application/json': { schema: answerSchema(r.response, r.list === true, r.followCursor === true) } } }
            : {}),
        },
        ...(r.noContentWhen ? { '204': { description: `Done; no body: ${r.noContentWhen}` } } : {}),
        '4XX': {
          description: 'Your request was wrong: the message says how to fix it',
          content: { 'application/json': { schema: errorSchema } },
        },
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: { title: 'Kinto control API', version },
    components: { securitySchemes: { adminToken: { type: 'http', scheme: 'bearer' } } },
    security: [{ adminToken: [] }],
    paths,
  };
}

import { z } from 'zod';
import { createClient, getClient, listClients, revokeClient, rotateClientSecret, type IssuedClient } from '../../core/auth/clients';
import type { Client } from '../../core/model';
import { noContent } from '../http/response';
import { created, ENV, listOptions, ok, page, route, type Route } from './routes';
import { clientSchema, issuedClientSchema, type ClientViewShape } from './view-schemas';

/** A client as listed: never its secret, nor the secret's hash. */
export const clientView = (c: Client): ClientViewShape => ({
  clientId: c.clientId,
  name: c.name ?? null,
  createdAt: c.createdAt,
  rotatedAt: c.rotatedAt ?? null,
});

/** A client just created or rotated: the one time its secret is shown. */
export const issuedClientView = (issued: IssuedClient) => ({ ...clientView(issued.client), secret: issued.secret });

const createClientInput = z.strictObject({ name: z.string().min(1).max(128).optional() }).optional();

/** Client credentials of an environment: what apps exchange for tokens at `POST <gateway URL>/authorize`. */
export function clientRoutes(): Route[] {
  return [
    route({
      method: 'POST',
      path: `${ENV}/clients`,
      response: issuedClientSchema,
      summary: 'Create a client (its secret is shown only in this answer)',
      tag: 'clients',
      status: 201,
      body: createClientInput,
      handle: async ({ ctx, params, body }) => created(issuedClientView(await createClient(ctx, params.project, params.env, body ?? {}))),
    }),
    route({
      method: 'GET',
      path: `${ENV}/clients`,
      response: clientSchema,
      list: true,
      summary: "List an environment's clients (ids and creation times, no secrets)",
      tag: 'clients',
      status: 200,
      query: ['limit', 'cursor'],
      handle: async ({ ctx, params, query }) => page(await listClients(ctx, params.project, params.env, listOptions(query)), clientView),
    }),
    route({
      method: 'GET',
      path: `${ENV}/clients/{clientId}`,
      response: clientSchema,
      summary: 'Get a client (no secret)',
      tag: 'clients',
      status: 200,
      handle: async ({ ctx, params }) => ok(clientView(await getClient(ctx, params.project, params.env, params.clientId))),
    }),
    route({
      method: 'POST',
      path: `${ENV}/clients/{clientId}/rotate`,
      response: issuedClientSchema,
      summary: "Rotate a client's secret: the old secret and its tokens stop working",
      tag: 'clients',
      status: 200,
      handle: async ({ ctx, params }) => ok(issuedClientView(await rotateClientSecret(ctx, params.project, params.env, params.clientId))),
    }),
    route({
      method: 'DELETE',
      path: `${ENV}/clients/{clientId}`,
      summary: 'Revoke a client: its secret and its tokens stop working',
      tag: 'clients',
      status: 204,
      handle: async ({ ctx, params }) => {
        await revokeClient(ctx, params.project, params.env, params.clientId);
        return noContent();
      },
    }),
  ];
}

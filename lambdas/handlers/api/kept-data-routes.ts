import { z } from 'zod';
import { deleteKeptData, listKeptData } from '../../core/kept-data';
import { deleteKeptDataInput } from '../../core/request-schemas';
import { jsonResponse } from '../http/response';
import { ok, route, type Route } from './routes';
import { keptDataSchema } from './view-schemas';

/** What deleted environments' custom services left (kept by a deletion without `deleteData`), and deleting it later. */
export function keptDataRoutes(): Route[] {
  return [
    route({
      method: 'GET',
      path: '/v1/kept-data',
      response: keptDataSchema,
      list: true,
      summary: "The custom services' data that deleted environments left (their deletions kept it)",
      tag: 'kept data',
      status: 200,
      handle: async ({ ctx }) => jsonResponse(200, { data: await listKeptData(ctx), nextCursor: null }),
    }),
    route({
      method: 'DELETE',
      path: '/v1/kept-data/{environmentId}',
      response: z.object({ deletedData: z.array(keptDataSchema) }),
      summary: 'Delete what a deleted environment left (body {confirm: "<environmentId>"}; 409 while the environment exists)',
      tag: 'kept data',
      status: 200,
      body: deleteKeptDataInput,
      handle: async ({ ctx, params, body }) => ok({ deletedData: await deleteKeptData(ctx, params.environmentId, body?.confirm) }),
    }),
  ];
}

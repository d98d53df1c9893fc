import { badRequest } from '../../core/errors';
import type { HttpResult } from '../http/response';
import { buildLogView } from './views';

/** `?offset=` of a build or job-run log read (0 when absent). */
export function logOffset(query: Readonly<Record<string, string | undefined>>): number {
  const offset = query.offset === undefined ? 0 : Number(query.offset);
  if (!Number.isSafeInteger(offset) || offset < 0)
    throw badRequest('INVALID_QUERY', 'Use ?offset=<kinto-log-next-offset of the previous read>.');
  return offset;
}

/**
 * A piece of a build or job-run log as plain text (terminal sequences removed), with where the next
 * read starts and the status of what writes it (`status`: e.g. `{'kinto-run-status': 'running'}`),
 * so a follower knows when to stop.
 */
export function logChunkResponse(text: string, nextOffset: number, status: Record<string, string>): HttpResult {
  return {
    statusCode: 200,
    headers: {
      'content-type': 'text/plain; charset=utf-8',
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      ...status,
      'kinto-log-next-offset': String(nextOffset),
    },
    body: buildLogView(text),
  };
}

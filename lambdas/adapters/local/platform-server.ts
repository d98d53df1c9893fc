import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { ApiHandler } from '../../handlers/api/create-api-handler';
import { MAX_BODY_BYTES } from '../../handlers/http/json-body';
import { errorResponse } from '../../handlers/http/response';
import { toApiGatewayEvent, writeApiGatewayResult } from './apigw-event';

export interface PlatformServerOptions {
  readonly api: ApiHandler;
  readonly gateway: (req: IncomingMessage, res: ServerResponse, envId: string, rest: string) => void;
  readonly console: (req: IncomingMessage, res: ServerResponse) => void;
  /** Streaming API routes the Lambda-style handler cannot serve (log follow); false = not mine. */
  readonly streams?: (req: IncomingMessage, res: ServerResponse) => boolean;
}

const GATEWAY_PREFIX = '/gw/';
const ENV_ID = /^[A-Za-z0-9_-]{1,64}$/;
const LAMBDA_CONTEXT = { functionName: 'kinto-api', awsRequestId: 'local' } as never;

/**
 * One HTTP port for everything: `/v1/...` the control API (the same Lambda handler AWS runs,
 * fed API Gateway v2 events), `/gw/<env id>/...` the environments' gateways, `/` the console.
 */
export function createPlatformServer(options: PlatformServerOptions): Server {
  const server = createServer((req, res) => {
    const url = req.url ?? '/';
    if (url.startsWith(GATEWAY_PREFIX)) {
      // `/gw/<env id>[/<rest>][?query]`, cut by position: every gateway request passes here.
      const query = url.indexOf('?');
      const end = query < 0 ? url.length : query;
      const slash = url.indexOf('/', GATEWAY_PREFIX.length);
      const idEnd = slash < 0 || slash > end ? end : slash;
      const envId = url.slice(GATEWAY_PREFIX.length, idEnd);
      if (ENV_ID.test(envId)) return options.gateway(req, res, envId, idEnd === end ? '/' : url.slice(idEnd, end));
    }
    if (url === '/v1' || url.startsWith('/v1/') || url.startsWith('/v1?')) {
      if (options.streams?.(req, res)) return;
      return void serveApi(options.api, req, res);
    }
    return options.console(req, res);
  });
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  return server;
}

async function serveApi(api: ApiHandler, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const requestId = randomUUID();
  const body = await readBody(req, MAX_BODY_BYTES);
  if (body === 'too-large') {
    writeApiGatewayResult(res, errorResponse(413, 'PAYLOAD_TOO_LARGE', `The request body is over the limit of ${MAX_BODY_BYTES} bytes (1 MB).`, { connection: 'close' }));
    return;
  }
  try {
    const result = await api(toApiGatewayEvent(req, body, requestId), LAMBDA_CONTEXT);
    writeApiGatewayResult(res, result);
  } catch (e) {
    console.error(JSON.stringify({ level: 'error', message: 'api handler threw', requestId, error: String((e as Error)?.stack ?? e) }));
    writeApiGatewayResult(res, errorResponse(500, 'INTERNAL', `Something went wrong on Kinto's side. Quote request id ${requestId} when you report it.`));
  }
}

/** Reads a request body up to `limit` bytes; past it, stops collecting and says so. */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer | 'too-large'> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (declared > limit) {
      req.resume();
      return resolve('too-large');
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (chunk: Buffer) => {
      if (over) return;
      size += chunk.length;
      if (size > limit) {
        over = true;
        chunks.length = 0;
        return resolve('too-large');
      }
      chunks.push(chunk);
    });
    req.on('end', () => !over && resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

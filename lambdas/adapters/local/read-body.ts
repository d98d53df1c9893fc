import type { IncomingMessage, ServerResponse } from 'node:http';
import { MAX_BODY_BYTES } from '../../handlers/http/json-body';
import { errorResponse } from '../../handlers/http/response';
import { writeApiGatewayResult } from './apigw-event';

/** Reads a request body up to `limit` bytes; past it, stops collecting and says so. */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer | 'too-large'> {
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

/** The control API's answer to a body over its limit (the connection closes: the rest is not read). */
export function tooLarge(res: ServerResponse): void {
  writeApiGatewayResult(res, errorResponse(413, 'PAYLOAD_TOO_LARGE', `The request body is over the limit of ${MAX_BODY_BYTES} bytes (1 MB).`, { connection: 'close' }));
}

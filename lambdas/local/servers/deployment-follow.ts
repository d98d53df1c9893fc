import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CoreContext } from '../../core/context';
import { getDeployment } from '../../core/deployments/deploy-release';
import { assertAdmin, type AdminTokenSource } from '../../handlers/http/admin-auth';
import { toErrorResponse } from '../../handlers/http/http-errors';
import { deploymentView } from '../../handlers/api/views';
import { writeApiGatewayResult } from './apigw-event';
import { parseStreamRequest } from './stream-request';

export interface DeploymentFollowOptions {
  readonly ctx: () => CoreContext;
  readonly adminToken: AdminTokenSource;
  /** How often the record is read for changes. @default 200 */
  readonly pollMs?: number;
  /** Comment lines that keep proxies from closing a quiet stream. @default 15000 */
  readonly heartbeatMs?: number;
}

/**
 * `GET .../environments/{env}/deployments/{id}?follow=true` on the local platform: the deployment
 * as server-sent events, one `event: deployment` with the whole record each time it changes, then
 * `event: end` once it succeeded or failed. Returns false for requests it does not answer.
 */
export function createDeploymentFollowHandler(options: DeploymentFollowOptions): (req: IncomingMessage, res: ServerResponse) => boolean {
  return (req, res) => {
    const follow = parseStreamRequest(req);
    if (follow?.kind !== 'deployment') return false;
    const [project, env, id] = follow.path.map(decode) as [string, string, string];
    void stream(options, req, res, project, env, id).catch((e) => {
      if (res.headersSent) return void res.end();
      writeApiGatewayResult(res, toErrorResponse(e, 'local'));
    });
    return true;
  };
}

async function stream(
  options: DeploymentFollowOptions,
  req: IncomingMessage,
  res: ServerResponse,
  project: string,
  env: string,
  id: string,
): Promise<void> {
  await assertAdmin(req.headers.authorization, options.adminToken);
  let last = await getDeployment(options.ctx(), project, env, id);
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    'x-accel-buffering': 'no',
    'x-content-type-options': 'nosniff',
  });
  const send = (event: string, data: unknown) => res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  send('deployment', deploymentView(last));
  let open = true;
  res.once('close', () => (open = false));
  const heartbeatMs = options.heartbeatMs ?? 15_000;
  let quietSince = Date.now();
  while (open && last.status === 'in-progress') {
    await new Promise((r) => setTimeout(r, options.pollMs ?? 200));
    const now = await getDeployment(options.ctx(), project, env, id).catch(() => undefined);
    if (!now) break;
    if (now.rev !== last.rev) {
      last = now;
      send('deployment', deploymentView(now));
      quietSince = Date.now();
    } else if (Date.now() - quietSince > heartbeatMs) {
      res.write(': keep-alive\n\n');
      quietSince = Date.now();
    }
  }
  if (open) {
    send('end', { status: last.status });
    res.end();
  }
}

function decode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

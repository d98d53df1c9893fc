import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { DynamoDbStore } from '../adapters/dynamodb/dynamodb-store';
import { secretsManagerKeys } from '../adapters/aws/secrets-manager-keys';
import { randomIds, systemClock } from '../adapters/clock-and-ids';
import { authorize, parseCredentials, tokenSettingsFrom, type TokenSettings } from '../core/auth/authorize';
import type { CoreContext } from '../core/context';
import { isKintoError } from '../core/errors';
import { errorResponse, jsonResponse, type HttpResult } from './http/response';
import { ENVIRONMENT_STAGE_VARIABLE } from './authorizer';
import { requiredEnv } from './required-env';

/** Largest body read: credentials are a few hundred bytes. */
const MAX_BODY = 16 * 1024;

export type AuthorizeContext = Pick<CoreContext, 'store' | 'clock' | 'ids' | 'keys'>;

export interface AuthorizeEndpointOptions {
  /** The ports, or a function that builds them once (cold start). */
  readonly context: AuthorizeContext | (() => Promise<AuthorizeContext>);
  readonly tokens: TokenSettings;
  readonly log?: (line: string) => void;
}

/**
 * `POST <gateway URL>/authorize` on AWS: the route of every environment's HTTP API that exchanges
 * client credentials for a token (the same core `authorize` as the local gateway). A shut-down
 * environment's `$default` route comes here too, and is answered 503 `ENVIRONMENT_SHUT_DOWN`. The
 * environment is the stage variable `kintoEnvironmentId`. Repeated failures are limited by the
 * stage's throttling (set by the deployer), not per client id as locally.
 */
export function createAuthorizeEndpoint(options: AuthorizeEndpointOptions): (event: APIGatewayProxyEventV2) => Promise<HttpResult> {
  let ctx: Promise<AuthorizeContext> | undefined;
  const log = options.log ?? ((line: string) => console.error(line));
  return async (event) => {
    const requestId = event.requestContext?.requestId ?? 'unknown';
    if (event.routeKey === '$default') {
      // A shut-down environment's gateway routes every other request here (no block runs).
      return errorResponse(503, 'ENVIRONMENT_SHUT_DOWN', 'This environment is shut down; it answers again after the next deploy.', {
        'kinto-request-id': requestId,
      });
    }
    try {
      const envId = event.stageVariables?.[ENVIRONMENT_STAGE_VARIABLE];
      if (!envId) throw new Error(`stage variable ${ENVIRONMENT_STAGE_VARIABLE} is not set on API ${event.requestContext?.apiId ?? '?'}`);
      const raw = event.body === undefined ? '' : event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
      if (Buffer.byteLength(raw) > MAX_BODY)
        return errorResponse(413, 'PAYLOAD_TOO_LARGE', `Send {"clientId": "...", "secret": "..."}: at most ${MAX_BODY} bytes.`);
      let body: unknown;
      try {
        body = raw ? JSON.parse(raw) : undefined;
      } catch {
        body = undefined;
      }
      const credentials = parseCredentials(body);
      if (!ctx) {
        ctx = typeof options.context === 'function' ? options.context() : Promise.resolve(options.context);
        ctx.catch(() => (ctx = undefined));
      }
      return jsonResponse(200, { data: await authorize(await ctx, envId, credentials, options.tokens) });
    } catch (e) {
      if (isKintoError(e) && e.status < 500) {
        return errorResponse(e.status, e.code, e.message, e.status === 401 ? { 'www-authenticate': 'Bearer realm="kinto"' } : {});
      }
      log(
        JSON.stringify({
          level: 'error',
          message: 'authorize failed',
          requestId,
          error: e instanceof Error ? { name: e.name, message: e.message, stack: e.stack } : String(e),
        }),
      );
      return errorResponse(
        500,
        'INTERNAL',
        `Something went wrong on Kinto's side. Quote request id ${requestId} when you report it.`,
        {},
        { requestId },
      );
    }
  };
}

let endpoint: ReturnType<typeof createAuthorizeEndpoint> | undefined;

/** Lambda entry point (API Gateway HTTP API, payload 2.0). Needs GetItem on the state table and the platform key. */
export const handler = (event: APIGatewayProxyEventV2): Promise<HttpResult> => {
  endpoint ??= createAuthorizeEndpoint({
    context: async () => ({
      store: new DynamoDbStore({ client: new DynamoDBClient({}), tableName: requiredEnv('STATE_TABLE_NAME') }),
      clock: systemClock,
      ids: randomIds,
      keys: secretsManagerKeys(new SecretsManagerClient({}), requiredEnv('PLATFORM_KEY_SECRET_ARN')),
    }),
    tokens: tokenSettingsFrom(process.env),
  });
  return endpoint(event);
};

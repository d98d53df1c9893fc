import type { APIGatewayRequestAuthorizerEventV2, APIGatewaySimpleAuthorizerWithContextResult } from 'aws-lambda';
import type { AuthorizerConfig } from '../adapters/aws/authorizer-verifier';
import { basicAuthStageVariable, blockOfRouteKey, decodeBasicAuthStageValue } from '../adapters/aws/basic-auth-stage-value';
import { websitePasswordCheck } from '../adapters/aws/website-password';
import { readToken, type TokenVerifier, type Verification } from '../core/auth/verify-token';

/**
 * The Lambda authorizer of every environment's HTTP API (REQUEST authorizer, payload 2.0, simple
 * responses). Identity source: the `Kinto-Authorization` header; API Gateway caches each answer
 * per token for the authorizer's result TTL (default 300 s).
 *
 * The environment comes from the stage variable `kintoEnvironmentId` of the API that calls: one
 * function serves every environment, and a token of environment A is refused on B's API.
 * On success the integration can pass `$context.authorizer.clientId` to the block as
 * `kinto-client-id` (parameter mapping, set by the deployer).
 *
 * Revocation bound on AWS: a revoked or rotated client's token may pass for up to the result
 * cache TTL (API Gateway) + `KINTO_AUTH_CACHE_SECONDS` (this function's memory, default 30 s).
 *
 * Password-protected websites: the route's block has a `kintoBasicAuth_<block>` stage variable
 * (username and scrypt hash); the `Authorization` header is checked against it on every request
 * (never cached by API Gateway; successes remembered here; guesses bounded by the stage's throttling),
 * and a token as well when the website is also protected. API Gateway answers a refusal 403 (401
 * without the header) and cannot add `WWW-Authenticate`: browsers do not prompt on AWS.
 *
 * Size and cold start matter here: this file imports only the verifier; the AWS SDK (provided by
 * the runtime, not bundled) is loaded on the first request that needs the key or the table.
 */

export type AuthorizerEvent = APIGatewayRequestAuthorizerEventV2;
export type AuthorizerContext = { clientId: string; environmentId: string; tokenId: string };
export type AuthorizerResult = APIGatewaySimpleAuthorizerWithContextResult<AuthorizerContext> | { isAuthorized: false };

/** Stage variable naming the environment an HTTP API serves. */
export const ENVIRONMENT_STAGE_VARIABLE = 'kintoEnvironmentId';
/** Header carrying the token (the identity source). */
export const TOKEN_HEADER = 'kinto-authorization';
/** Default of `KINTO_AUTH_CACHE_SECONDS`. */
export const DEFAULT_IN_LAMBDA_CACHE_SECONDS = 30;

export interface AuthorizerDependencies {
  /** Builds the verifier (keys, table); called once, on the first request with a well-formed token. */
  readonly verifier: () => Promise<TokenVerifier>;
  readonly log?: (line: string) => void;
  /** @default websitePasswordCheck() */
  readonly passwordCheck?: ReturnType<typeof websitePasswordCheck>;
}

/** The authorizer, with its dependencies injected (tests; the `handler` below wires AWS). */
export function createAuthorizer(deps: AuthorizerDependencies): (event: AuthorizerEvent) => Promise<AuthorizerResult> {
  let verifier: Promise<TokenVerifier> | undefined;
  const log = deps.log ?? ((line: string) => console.log(line));
  const passwordCheck = deps.passwordCheck ?? websitePasswordCheck();
  return async (event) => {
    const envId = event.stageVariables?.[ENVIRONMENT_STAGE_VARIABLE];
    if (!envId) {
      // A deployment mistake, not the caller's: fail closed, and uncached (an error is not cached).
      throw new Error(`stage variable ${ENVIRONMENT_STAGE_VARIABLE} is not set on API ${event.requestContext?.apiId ?? '?'}`);
    }
    const block = blockOfRouteKey(event.routeKey);
    const password = block ? decodeBasicAuthStageValue(event.stageVariables?.[basicAuthStageVariable(block)]) : undefined;
    if (password) {
      if (!(await passwordCheck(header(event, 'authorization'), password, `${envId}/${block}`))) {
        log(JSON.stringify({ level: 'info', message: 'password refused', environmentId: envId, block }));
        return { isAuthorized: false };
      }
      if (password.visibility === 'public') return { isAuthorized: true, context: { clientId: '', environmentId: envId, tokenId: '' } };
    }
    const value = header(event, TOKEN_HEADER) ?? event.identitySource?.[0];
    const cheap = readToken(value);
    let verdict: Verification;
    if (typeof cheap !== 'string') {
      verdict = cheap;
    } else {
      if (!verifier) {
        verifier = deps.verifier();
        verifier.catch(() => (verifier = undefined));
      }
      verdict = await (await verifier).verify(value, envId);
    }
    if (!verdict.ok) {
      log(
        JSON.stringify({
          level: 'info',
          message: 'token refused',
          reason: verdict.code,
          environmentId: envId,
          requestId: event.requestContext?.requestId,
        }),
      );
      return { isAuthorized: false };
    }
    return { isAuthorized: true, context: { clientId: verdict.clientId, environmentId: verdict.envId, tokenId: verdict.tokenId } };
  };
}

/** A request header by any case (API Gateway lower-cases names). */
function header(event: AuthorizerEvent, name: string): string | undefined {
  const headers = event.headers ?? {};
  const direct = headers[name];
  if (direct !== undefined) return direct;
  for (const key in headers) if (key.toLowerCase() === name) return headers[key];
  return undefined;
}

/** The function's configuration, from the environment the CDK construct sets. */
export function readAuthorizerConfig(env: NodeJS.ProcessEnv = process.env): AuthorizerConfig {
  const need = (name: string): string => {
    const value = env[name];
    if (!value) throw new Error(`environment variable ${name} is not set: the GatewayAuthorizer construct sets it`);
    return value;
  };
  const cacheSeconds = env.KINTO_AUTH_CACHE_SECONDS ? Number(env.KINTO_AUTH_CACHE_SECONDS) : DEFAULT_IN_LAMBDA_CACHE_SECONDS;
  if (!Number.isInteger(cacheSeconds) || cacheSeconds < 0 || cacheSeconds > 3600)
    throw new Error('KINTO_AUTH_CACHE_SECONDS must be a whole number of seconds from 0 to 3600');
  return {
    stateTableName: need('STATE_TABLE_NAME'),
    platformKeySecretArn: need('PLATFORM_KEY_SECRET_ARN'),
    issuer: env.KINTO_TOKEN_ISSUER || 'kinto',
    cacheSeconds,
  };
}

/** Lambda entry point. */
export const handler = createAuthorizer({
  verifier: async () => {
    const config = readAuthorizerConfig();
    const { createAwsTokenVerifier } = await import('../adapters/aws/authorizer-verifier');
    return createAwsTokenVerifier(config);
  },
});

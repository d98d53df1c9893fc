import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { dynamoClientStatus } from '../../lambdas/adapters/dynamodb/client-status';
import { randomIds, systemClock } from '../../lambdas/adapters/clock-and-ids';
import { tokenSettingsFrom } from '../../lambdas/core/auth/authorize';
import { rotateClientSecret, revokeClient } from '../../lambdas/core/auth/clients';
import { importTokenKey } from '../../lambdas/core/auth/platform-keys';
import { TokenVerifier } from '../../lambdas/core/auth/verify-token';
import type { CoreContext } from '../../lambdas/core/context';
import { createEnvironment } from '../../lambdas/core/environments';
import { createProject } from '../../lambdas/core/projects';
import { basicAuthStageVariable, encodeBasicAuthStageValue } from '../../lambdas/adapters/aws/basic-auth-stage-value';
import { hashPassword } from '../../lambdas/core/passwords';
import { createAuthorizer } from '../../lambdas/handlers/authorizer';
import { createAuthorizeEndpoint } from '../../lambdas/handlers/authorize';
import { inlineDeployer, ManualBuilder, RecordingRuntime } from '../support/core-context';
import { startTestStore } from '../support/dynalite-store';
import { claimsOf } from './forge';

/**
 * The AWS side end to end, without AWS: clients written by the core through the DynamoDB store
 * (dynalite), tokens issued by the `/authorize` Lambda handler, verified by the authorizer whose
 * client-status read is the raw GetItem it runs on AWS, against the same table.
 */

const material = Buffer.from('aws-platform-key-material-0123456789abcdefghijklmnopqrstu');

function postAuthorize(envId: string | undefined, body: string | undefined, base64 = false): APIGatewayProxyEventV2 {
  return {
    version: '2.0',
    routeKey: 'POST /authorize',
    rawPath: '/authorize',
    rawQueryString: '',
    headers: { 'content-type': 'application/json' },
    requestContext: {
      accountId: '111122223333',
      apiId: 'env123',
      domainName: 'env123.execute-api.eu-west-1.amazonaws.com',
      domainPrefix: 'env123',
      http: { method: 'POST', path: '/authorize', protocol: 'HTTP/1.1', sourceIp: '203.0.113.9', userAgent: 'jest' },
      requestId: 'req-1',
      routeKey: 'POST /authorize',
      stage: '$default',
      time: new Date().toUTCString(),
      timeEpoch: Date.now(),
    },
    stageVariables: envId ? { kintoEnvironmentId: envId } : undefined,
    body: body === undefined ? undefined : base64 ? Buffer.from(body).toString('base64') : body,
    isBase64Encoded: base64,
  };
}

describe('Handler: authorize (AWS) with the authorizer, on one table', () => {
  let testStore: Awaited<ReturnType<typeof startTestStore>>;
  let ctx: CoreContext;
  let envId: string;
  let clientId: string;
  let secret: string;
  let endpoint: ReturnType<typeof createAuthorizeEndpoint>;
  let authorizer: ReturnType<typeof createAuthorizer>;
  const authorizerEvent = (token: string, env = envId) =>
    ({
      version: '2.0',
      type: 'REQUEST',
      identitySource: [token],
      headers: { 'kinto-authorization': token },
      stageVariables: { kintoEnvironmentId: env },
      requestContext: { apiId: 'env123', requestId: 'r' },
    }) as never;

  beforeAll(async () => {
    testStore = await startTestStore();
    ctx = {
      store: testStore.store,
      clock: systemClock,
      ids: randomIds,
      runtime: new RecordingRuntime(),
      builder: new ManualBuilder(),
      deployer: inlineDeployer(() => ctx),
      keys: { material: async () => material },
    };
    await createProject(ctx, { name: 'shop' });
    const env = await createEnvironment(ctx, 'shop', { name: 'prod' });
    envId = env.id;
    ({ clientId } = env.firstClient!.client);
    secret = env.firstClient!.secret;
    endpoint = createAuthorizeEndpoint({
      context: { store: ctx.store, clock: systemClock, ids: randomIds, keys: ctx.keys },
      tokens: tokenSettingsFrom({ KINTO_TOKEN_LIFETIME_SECONDS: '900' }),
      log: () => undefined,
    });
    authorizer = createAuthorizer({
      verifier: async () =>
        new TokenVerifier({
          key: await importTokenKey(material),
          issuer: 'kinto',
          clientStatus: dynamoClientStatus(testStore.dynamo.client, testStore.tableName),
          cacheMs: 0,
        }),
      log: () => undefined,
    });
  });
  afterAll(() => testStore.close());

  it('issues a token the authorizer accepts, with the configured lifetime', async () => {
    const res = await endpoint(postAuthorize(envId, JSON.stringify({ clientId, secret })));
    expect(res.statusCode).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    const { token, expiresIn } = JSON.parse(res.body!).data;
    expect(expiresIn).toBe(900);
    expect(claimsOf(token)).toMatchObject({ aud: envId, sub: clientId, gen: 1 });
    expect(await authorizer(authorizerEvent(token))).toMatchObject({ isAuthorized: true, context: { clientId, environmentId: envId } });
  });

  it('accepts base64 bodies and clientSecret', async () => {
    const res = await endpoint(postAuthorize(envId, JSON.stringify({ clientId, clientSecret: secret }), true));
    expect(res.statusCode).toBe(200);
  });

  it.each([
    ['a wrong secret', () => JSON.stringify({ clientId, secret: 'nope' }), 401, 'INVALID_CREDENTIALS'],
    ['no body', () => undefined, 400, 'INVALID_CREDENTIALS_FORMAT'],
    ['not JSON', () => 'clientId=x', 400, 'INVALID_CREDENTIALS_FORMAT'],
    ['a huge body', () => JSON.stringify({ clientId, secret: 'x'.repeat(20_000) }), 413, 'PAYLOAD_TOO_LARGE'],
  ])('answers %s with a JSON error', async (_what, body, status, code) => {
    const res = await endpoint(postAuthorize(envId, body()));
    expect(res.statusCode).toBe(status);
    expect(JSON.parse(res.body!).error.code).toBe(code);
    if (status === 401) expect(res.headers['www-authenticate']).toBe('Bearer realm="kinto"');
  });

  it("refuses credentials on another environment's API", async () => {
    const res = await endpoint(postAuthorize('f'.repeat(32), JSON.stringify({ clientId, secret })));
    expect(res.statusCode).toBe(401);
  });

  it("answers a shut-down environment's other requests (its $default route) 503, with the request id", async () => {
    const event = postAuthorize(envId, undefined);
    const res = await endpoint({
      ...event,
      routeKey: '$default',
      rawPath: '/web/page',
      requestContext: { ...event.requestContext, routeKey: '$default' },
    });
    expect(res.statusCode).toBe(503);
    expect(JSON.parse(res.body!).error.code).toBe('ENVIRONMENT_SHUT_DOWN');
    expect(res.headers['kinto-request-id']).toBe('req-1');
  });

  it('answers 500 with the request id, and nothing more, when the stage is misconfigured', async () => {
    const res = await endpoint(postAuthorize(undefined, JSON.stringify({ clientId, secret })));
    expect(res.statusCode).toBe(500);
    expect(JSON.parse(res.body!).error).toEqual({ code: 'INTERNAL', message: expect.stringContaining('req-1'), requestId: 'req-1' });
  });

  it('checks a password-protected website: the password on every request, a token as well when it is also protected', async () => {
    const passwordHash = await hashPassword('open sesame');
    const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
    const event = (
      visibility: 'public' | 'protected',
      authorization: string | undefined,
      token?: string,
      block = 'docs',
      ip = '203.0.113.7',
    ) =>
      ({
        version: '2.0',
        type: 'REQUEST',
        routeKey: `ANY /${block}/{proxy+}`,
        identitySource: [token ?? authorization],
        headers: { ...(authorization ? { Authorization: authorization } : {}), ...(token ? { 'kinto-authorization': token } : {}) },
        stageVariables: {
          kintoEnvironmentId: envId,
          [basicAuthStageVariable('docs')]: encodeBasicAuthStageValue({ username: 'team', passwordHash, visibility }),
        },
        requestContext: { apiId: 'env123', requestId: 'r', http: { sourceIp: ip } },
      }) as never;
    const token = JSON.parse((await endpoint(postAuthorize(envId, JSON.stringify({ clientId, secret })))).body!).data.token as string;

    expect((await authorizer(event('public', basic('team', 'open sesame')))).isAuthorized).toBe(true);
    expect(await authorizer(event('public', basic('team', 'wrong'), undefined, 'docs', '198.51.100.1'))).toEqual({ isAuthorized: false });
    expect(await authorizer(event('public', basic('other', 'open sesame'), undefined, 'docs', '198.51.100.2'))).toEqual({
      isAuthorized: false,
    });
    expect(await authorizer(event('public', undefined))).toEqual({ isAuthorized: false });
    // Protected too: the password alone is not enough, nor a token alone.
    expect(await authorizer(event('protected', basic('team', 'open sesame')))).toEqual({ isAuthorized: false });
    expect(await authorizer(event('protected', basic('team', 'wrong'), token, 'docs', '198.51.100.3'))).toEqual({ isAuthorized: false });
    expect((await authorizer(event('protected', basic('team', 'open sesame'), token))).isAuthorized).toBe(true);
    // Another block's route does not read the docs website's password.
    expect(await authorizer(event('public', basic('team', 'open sesame'), undefined, 'api'))).toEqual({ isAuthorized: false });
  });

  it('the authorizer reads rotations and revocations from the table written by the core', async () => {
    const issue = async () =>
      JSON.parse((await endpoint(postAuthorize(envId, JSON.stringify({ clientId, secret })))).body!).data.token as string;
    const before = await issue();
    const rotated = await rotateClientSecret(ctx, 'shop', 'prod', clientId);
    secret = rotated.secret;
    expect(await authorizer(authorizerEvent(before))).toEqual({ isAuthorized: false });
    const after = await issue();
    expect((await authorizer(authorizerEvent(after))).isAuthorized).toBe(true);
    expect((await authorizer(authorizerEvent(after, 'e'.repeat(32)))).isAuthorized).toBe(false);
    await revokeClient(ctx, 'shop', 'prod', clientId);
    expect(await authorizer(authorizerEvent(after))).toEqual({ isAuthorized: false });
  });
});

import { DynamoDBClient, GetItemCommand, type GetItemCommandInput } from '@aws-sdk/client-dynamodb';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { APIGatewayRequestAuthorizerEventV2 } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import fc from 'fast-check';
import { createAwsTokenVerifier, type AuthorizerConfig } from '../../lambdas/adapters/aws/authorizer-verifier';
import { tokenKeyBytes } from '../../lambdas/core/auth/platform-keys';
import { createAuthorizer, handler, readAuthorizerConfig, type AuthorizerResult } from '../../lambdas/handlers/authorizer';
import { claimsOf, forgeToken, sameTokenBytes, unsignedToken } from './forge';

/**
 * The AWS Lambda authorizer, fed API-Gateway-shaped v2 REQUEST authorizer events. Only the AWS
 * SDK is faked (Secrets Manager for the key, DynamoDB for client status), at the SDK boundary;
 * tokens are real JWTs signed with the real key derivation.
 */

const secrets = mockClient(SecretsManagerClient);
const dynamo = mockClient(DynamoDBClient);

const MATERIAL = 'platform-key-from-secrets-manager-0123456789abcdefghijklmnopqrstuvwxyz';
const material = Buffer.from(MATERIAL, 'utf8');
const CONFIG: AuthorizerConfig = {
  stateTableName: 'kinto-state',
  platformKeySecretArn: 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:kinto-platform-key-AbCdEf',
  issuer: 'kinto',
  cacheSeconds: 30,
};
const ENV_A = 'a'.repeat(32);
const ENV_B = 'b'.repeat(32);
const CLIENT = '0123456789abcdef0123456789abcdef';
const OTHER_CLIENT = 'fedcba9876543210fedcba9876543210';

/** The table as the authorizer sees it: client -> generation (absent = revoked). */
let table: Map<string, number>;

/** An HTTP API v2 REQUEST authorizer event; `envId` null leaves the stage variable out. */
function event(
  token: string | undefined,
  envId: string | null = ENV_A,
  headerName = 'kinto-authorization',
): APIGatewayRequestAuthorizerEventV2 {
  return {
    version: '2.0',
    type: 'REQUEST',
    routeArn: 'arn:aws:execute-api:eu-west-1:111122223333:abc123/$default/GET/api/orders',
    identitySource: token === undefined ? [] : [token],
    routeKey: 'ANY /{block}/{proxy+}',
    rawPath: '/api/orders',
    rawQueryString: '',
    cookies: [],
    headers: {
      host: 'abc123.execute-api.eu-west-1.amazonaws.com',
      'user-agent': 'jest',
      ...(token === undefined ? {} : { [headerName]: token }),
    },
    queryStringParameters: {},
    requestContext: {
      accountId: '111122223333',
      apiId: 'abc123',
      domainName: 'abc123.execute-api.eu-west-1.amazonaws.com',
      domainPrefix: 'abc123',
      http: { method: 'GET', path: '/api/orders', protocol: 'HTTP/1.1', sourceIp: '203.0.113.9', userAgent: 'jest' },
      requestId: `req-${Math.random().toString(36).slice(2)}`,
      routeKey: 'ANY /{block}/{proxy+}',
      stage: '$default',
      time: new Date().toUTCString(),
      timeEpoch: Date.now(),
    },
    pathParameters: { block: 'api', proxy: 'orders' },
    stageVariables: envId === null ? {} : { kintoEnvironmentId: envId },
  };
}

const token = (o: Partial<Parameters<typeof forgeToken>[0]> = {}) => forgeToken({ material, envId: ENV_A, clientId: CLIENT, ...o });

const getItemFor = (envId: string, clientId: string): GetItemCommandInput => ({
  TableName: 'kinto-state',
  Key: { pk: { S: `ENV#${envId}` }, sk: { S: `CLIENT#${clientId}` } },
  ProjectionExpression: '#generation',
  ExpressionAttributeNames: { '#generation': 'generation' },
  ConsistentRead: true,
});

describe('Handler: authorizer (API Gateway HTTP API, REQUEST, payload 2.0, simple responses)', () => {
  let authorize: (e: APIGatewayRequestAuthorizerEventV2) => Promise<AuthorizerResult>;
  let logged: string[];

  beforeEach(() => {
    secrets.reset();
    dynamo.reset();
    table = new Map([
      [`${ENV_A}/${CLIENT}`, 1],
      [`${ENV_B}/${OTHER_CLIENT}`, 1],
    ]);
    secrets.on(GetSecretValueCommand).resolves({ SecretString: MATERIAL });
    dynamo.on(GetItemCommand).callsFake((input: GetItemCommandInput) => {
      const env = input.Key!.pk.S!.slice(4);
      const client = input.Key!.sk.S!.slice(7);
      const generation = table.get(`${env}/${client}`);
      return generation === undefined ? {} : { Item: { generation: { N: String(generation) } } };
    });
    logged = [];
    // A fresh authorizer per test, wired exactly as the entry point wires it.
    authorize = createAuthorizer({ verifier: () => createAwsTokenVerifier(CONFIG), log: (line) => logged.push(line) });
  });

  describe('Function: allow', () => {
    it('allows a valid token with the client and environment in the context', async () => {
      const t = await token();
      expect(await authorize(event(t))).toEqual({
        isAuthorized: true,
        context: { clientId: CLIENT, environmentId: ENV_A, tokenId: claimsOf(t).jti },
      });
    });

    it('reads the key once and the client once, with exactly these commands', async () => {
      const t1 = await token();
      const t2 = await token({ claims: { jti: 'k'.repeat(32) } });
      await authorize(event(t1));
      await authorize(event(t1));
      await authorize(event(t2));
      expect(secrets).toHaveReceivedCommandTimes(GetSecretValueCommand, 1);
      expect(secrets).toHaveReceivedCommandWith(GetSecretValueCommand, { SecretId: CONFIG.platformKeySecretArn });
      expect(dynamo).toHaveReceivedCommandTimes(GetItemCommand, 1);
      expect(dynamo.commandCalls(GetItemCommand)[0].args[0].input).toEqual(getItemFor(ENV_A, CLIENT));
    });

    it.each(['kinto-authorization', 'Kinto-Authorization', 'KINTO-AUTHORIZATION'])('finds the header named %s', async (name) => {
      expect((await authorize(event(await token(), ENV_A, name))).isAuthorized).toBe(true);
    });

    it('accepts any "Bearer " prefix spelling (property)', async () => {
      const t = await token();
      const prefix = fc
        .tuple(fc.array(fc.boolean(), { minLength: 6, maxLength: 6 }), fc.constantFrom(' ', '  ', '\t'))
        .map(([f, ws]) => [...'bearer'].map((c, i) => (f[i] ? c.toUpperCase() : c)).join('') + ws);
      await fc.assert(
        fc.asyncProperty(prefix, async (p) => (await authorize(event(p + t))).isAuthorized),
        { numRuns: 40 },
      );
    });
  });

  describe('Function: refuse', () => {
    const now = () => Math.floor(Date.now() / 1000);
    const cases: [string, () => Promise<string | undefined>, string][] = [
      ['no header', async () => undefined, 'TOKEN_MISSING'],
      ['an empty header', async () => '', 'TOKEN_MISSING'],
      ['a non-JWT value', async () => 'hello', 'TOKEN_MALFORMED'],
      ['a bad signature', async () => token({ rawKey: Buffer.alloc(32, 1) }), 'TOKEN_INVALID'],
      ['alg none', async () => unsignedToken(claimsOf(await token())), 'TOKEN_INVALID'],
      ['HS512 with the right key bytes', async () => token({ alg: 'HS512', rawKey: tokenKeyBytes(material) }), 'TOKEN_INVALID'],
      ['expired', async () => token({ nowSeconds: now() - 3600 }), 'TOKEN_EXPIRED'],
      ['not yet valid (nbf)', async () => token({ claims: { nbf: now() + 300 } }), 'TOKEN_NOT_YET_VALID'],
      ['not yet valid (iat)', async () => token({ nowSeconds: now() + 300 }), 'TOKEN_NOT_YET_VALID'],
      ['another issuer', async () => token({ claims: { iss: 'evil' } }), 'TOKEN_INVALID'],
      ['a token of another environment', async () => token({ envId: ENV_B, clientId: OTHER_CLIENT }), 'TOKEN_WRONG_ENVIRONMENT'],
      ['a revoked client', async () => token({ clientId: 'c'.repeat(32) }), 'TOKEN_REVOKED'],
      [
        'a token issued before a rotation',
        async () => {
          table.set(`${ENV_A}/${CLIENT}`, 2);
          return token({ generation: 1 });
        },
        'TOKEN_REVOKED',
      ],
    ];
    it.each(cases)('refuses %s, logging why without the token', async (_what, make, code) => {
      const t = await make();
      expect(await authorize(event(t))).toEqual({ isAuthorized: false });
      expect(logged).toHaveLength(1);
      expect(JSON.parse(logged[0])).toMatchObject({ message: 'token refused', reason: code, environmentId: ENV_A });
      if (t && t.length > 10) expect(logged[0]).not.toContain(t.split('.')[1]);
    });

    it('answers missing and malformed headers without loading the key or reading the table', async () => {
      for (const v of [undefined, '', 'x', 'Bearer', 'a.b', '%%%.%%%.%%%']) expect((await authorize(event(v))).isAuthorized).toBe(false);
      expect(secrets).toHaveReceivedCommandTimes(GetSecretValueCommand, 0);
      expect(dynamo).toHaveReceivedCommandTimes(GetItemCommand, 0);
    });

    it('refuses a token verified on environment A when presented to environment B (cache included)', async () => {
      const t = await token();
      expect((await authorize(event(t, ENV_A))).isAuthorized).toBe(true);
      expect((await authorize(event(t, ENV_B))).isAuthorized).toBe(false);
      expect(JSON.parse(logged[0]).reason).toBe('TOKEN_WRONG_ENVIRONMENT');
    });

    it('property: huge, binary and random header values are refused', async () => {
      const t = await token();
      const value = fc.oneof(
        fc.string({ maxLength: 300 }),
        fc.string({ unit: 'binary', maxLength: 300 }),
        fc.string({ minLength: 4097, maxLength: 20_000 }),
        fc.uint8Array({ maxLength: 400 }).map((b) => Buffer.from(b).toString('latin1')),
        fc
          .tuple(fc.nat(t.length - 1), fc.constantFrom('A', 'x', '_', '-', '.', '=', '\u0000'))
          .map(([i, c]) => t.slice(0, i) + c + t.slice(i + 1))
          .filter((v) => !sameTokenBytes(v, t)),
        fc
          .string({ maxLength: 50 })
          .map((junk) => `${t}${junk}`)
          .filter((v) => v.trim() !== t),
      );
      await fc.assert(
        fc.asyncProperty(value, async (v) => (await authorize(event(v))).isAuthorized === false),
        { numRuns: 300 },
      );
    });
  });

  describe('Function: failures of the platform', () => {
    it('throws (API Gateway answers 500 and caches nothing) when the stage does not name its environment', async () => {
      await expect(authorize(event(await token(), null))).rejects.toThrow('stage variable kintoEnvironmentId is not set on API abc123');
    });

    it('throws when the table cannot be read, and reads again on the next request', async () => {
      dynamo.on(GetItemCommand).rejectsOnce(new Error('ProvisionedThroughputExceededException'));
      const t = await token();
      await expect(authorize(event(t))).rejects.toThrow('ProvisionedThroughputExceededException');
      dynamo.on(GetItemCommand).resolves({ Item: { generation: { N: '1' } } });
      expect((await authorize(event(t))).isAuthorized).toBe(true);
    });

    it('throws when the key cannot be read, and tries again on the next request', async () => {
      secrets.on(GetSecretValueCommand).rejectsOnce(new Error('AccessDeniedException')).resolves({ SecretString: MATERIAL });
      const t = await token();
      await expect(authorize(event(t))).rejects.toThrow('AccessDeniedException');
      expect((await authorize(event(t))).isAuthorized).toBe(true);
      expect(secrets).toHaveReceivedCommandTimes(GetSecretValueCommand, 2);
    });
  });

  describe('Function: in-Lambda cache bound', () => {
    it('reads the client again once KINTO_AUTH_CACHE_SECONDS passed: a revocation shows within that bound', async () => {
      jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'], now: Date.now() });
      try {
        const t = await token();
        expect((await authorize(event(t))).isAuthorized).toBe(true);
        table.delete(`${ENV_A}/${CLIENT}`);
        jest.setSystemTime(Date.now() + 29_000);
        expect((await authorize(event(t))).isAuthorized).toBe(true);
        jest.setSystemTime(Date.now() + 2_000);
        expect(await authorize(event(t))).toEqual({ isAuthorized: false });
        expect(JSON.parse(logged.at(-1)!).reason).toBe('TOKEN_REVOKED');
        expect(dynamo).toHaveReceivedCommandTimes(GetItemCommand, 2);
      } finally {
        jest.useRealTimers();
      }
    });
  });

  describe('Function: handler (the entry point)', () => {
    const saved = { ...process.env };
    afterEach(() => {
      process.env = { ...saved };
    });

    it('reads its configuration from the environment the construct sets, loading the SDK only for real checks', async () => {
      const log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
      process.env.STATE_TABLE_NAME = 'kinto-state';
      process.env.PLATFORM_KEY_SECRET_ARN = CONFIG.platformKeySecretArn;
      expect((await handler(event('not-a-token'))).isAuthorized).toBe(false);
      expect(secrets).toHaveReceivedCommandTimes(GetSecretValueCommand, 0);
      const t = await token();
      expect(await handler(event(t))).toMatchObject({ isAuthorized: true, context: { clientId: CLIENT, environmentId: ENV_A } });
      expect(dynamo.commandCalls(GetItemCommand)[0].args[0].input).toEqual(getItemFor(ENV_A, CLIENT));
      // One JSON line for the refusal, through the function's log (console -> CloudWatch).
      expect(log).toHaveBeenCalledTimes(1);
      expect(JSON.parse(log.mock.calls[0][0] as string)).toMatchObject({ reason: 'TOKEN_MALFORMED' });
      log.mockRestore();
    });

    it.each([
      [{}, /STATE_TABLE_NAME is not set/],
      [{ STATE_TABLE_NAME: 't' }, /PLATFORM_KEY_SECRET_ARN is not set/],
      [{ STATE_TABLE_NAME: 't', PLATFORM_KEY_SECRET_ARN: 'k', KINTO_AUTH_CACHE_SECONDS: '-1' }, /KINTO_AUTH_CACHE_SECONDS must be/],
    ])('refuses an incomplete configuration %#', (env, message) => {
      expect(() => readAuthorizerConfig(env)).toThrow(message);
    });

    it('defaults: issuer "kinto", in-Lambda cache 30 s', () => {
      expect(readAuthorizerConfig({ STATE_TABLE_NAME: 't', PLATFORM_KEY_SECRET_ARN: 'k' })).toEqual({
        stateTableName: 't',
        platformKeySecretArn: 'k',
        issuer: 'kinto',
        cacheSeconds: 30,
      });
    });
  });
});

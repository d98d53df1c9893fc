import { CloudWatchLogsClient, DescribeLogStreamsCommand, GetLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { BatchGetBuildsCommand, CodeBuildClient, StartBuildCommand, type EnvironmentVariable } from '@aws-sdk/client-codebuild';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import type { APIGatewayProxyEventV2, CodeBuildCloudWatchStateEvent, Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { createAwsApiHandler, readAwsApiConfig, type AwsApiConfig } from '../../lambdas/handlers/api';
import type { ApiHandler } from '../../lambdas/handlers/api/create-api-handler';
import { createBuildEventsHandler } from '../../lambdas/handlers/build-events';
import { startTestStore } from '../support/dynalite-store';

const secrets = mockClient(SecretsManagerClient);
const codebuild = mockClient(CodeBuildClient);
const logs = mockClient(CloudWatchLogsClient);
const sfn = mockClient(SFNClient);
const lambda = mockClient(LambdaClient);
const cloudformation = mockClient(CloudFormationClient);
const STATE_MACHINE = 'arn:aws:states:eu-west-1:123456789012:stateMachine:kinto-deployer';
const DEPLOYER = 'arn:aws:lambda:eu-west-1:123456789012:function:kinto-deployer';
const ADMIN = 'admin-token-from-secrets-manager-0123456789';
const PLATFORM_KEY = 'platform-key-from-secrets-manager-0123456789abcdefghijklmnopqrstuvwxyz';
const IMAGE = `123456789012.dkr.ecr.eu-west-1.amazonaws.com/kinto-blocks@sha256:${'cd'.repeat(32)}`;

function request(method: string, path: string, body?: unknown, token = ADMIN): APIGatewayProxyEventV2 {
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: path,
    rawQueryString: '',
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    requestContext: {
      accountId: '123456789012',
      apiId: 'abc123',
      domainName: 'abc123.execute-api.eu-west-1.amazonaws.com',
      domainPrefix: 'abc123',
      http: { method, path, protocol: 'HTTP/1.1', sourceIp: '203.0.113.9', userAgent: 'jest' },
      requestId: `req-${Math.random().toString(36).slice(2)}`,
      routeKey: '$default',
      stage: '$default',
      time: new Date().toUTCString(),
      timeEpoch: Date.now(),
    },
    ...(body ? { body: JSON.stringify(body), isBase64Encoded: false } : { isBase64Encoded: false }),
  };
}

describe('Handler: api (AWS entry point)', () => {
  let store: Awaited<ReturnType<typeof startTestStore>>;
  let config: AwsApiConfig;
  let api: ApiHandler;
  const call = async (method: string, path: string, body?: unknown, token?: string) => {
    const res = await api(request(method, path, body, token), {} as Context);
    return { status: res.statusCode, body: res.body ? JSON.parse(res.body) : undefined };
  };

  beforeAll(async () => {
    store = await startTestStore();
    config = {
      stateTableName: store.tableName,
      adminTokenSecretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:kinto/admin-token-AbCdEf',
      platformKeySecretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:kinto/platform-key-GhIjKl',
      buildProjectName: 'kinto-builds',
      buildLogGroupName: '/kinto/builds',
      deployerStateMachineArn: STATE_MACHINE,
      deployerFunctionName: DEPLOYER,
    };
  });
  afterAll(() => store.close());
  beforeEach(() => {
    secrets.reset();
    codebuild.reset();
    logs.reset();
    sfn.reset();
    lambda.reset();
    cloudformation.reset();
    secrets.on(GetSecretValueCommand, { SecretId: config.adminTokenSecretArn }).resolves({ SecretString: ADMIN });
    secrets.on(GetSecretValueCommand, { SecretId: config.platformKeySecretArn }).resolves({ SecretString: PLATFORM_KEY });
    api = createAwsApiHandler(config, {
      dynamodb: store.dynamo.client,
      secrets: new SecretsManagerClient({ region: 'eu-west-1' }),
      codebuild: new CodeBuildClient({ region: 'eu-west-1' }),
      logs: new CloudWatchLogsClient({ region: 'eu-west-1' }),
      lambda: new LambdaClient({ region: 'eu-west-1' }),
      cloudformation: new CloudFormationClient({ region: 'eu-west-1' }),
      sfn: new SFNClient({ region: 'eu-west-1' }),
    });
  });

  it('checks the admin token against the secret, read once and cached', async () => {
    expect((await call('GET', '/v1/projects', undefined, 'wrong')).status).toBe(401);
    expect((await call('GET', '/v1/projects')).status).toBe(200);
    expect(secrets).toHaveReceivedCommandTimes(GetSecretValueCommand, 1);
    expect(secrets).toHaveReceivedCommandWith(GetSecretValueCommand, { SecretId: config.adminTokenSecretArn });
  });

  it('issues client credentials with the platform key from Secrets Manager (first client on environment create)', async () => {
    await call('POST', '/v1/projects', { name: 'keys' });
    const env = await call('POST', '/v1/projects/keys/environments', { name: 'dev' });
    expect(env.status).toBe(201);
    expect(secrets).toHaveReceivedCommandWith(GetSecretValueCommand, { SecretId: config.platformKeySecretArn });
    expect(JSON.stringify(env.body)).not.toContain(PLATFORM_KEY);
  });

  it('builds with CodeBuild, follows the log from CloudWatch Logs, and records the result from the state change event', async () => {
    expect((await call('POST', '/v1/projects', { name: 'shop' })).status).toBe(201);
    const block = {
      name: 'api',
      type: 'microservice',
      source: { repo: 'https://github.com/acme/shop.git', branch: 'main' },
      build: { startCommand: 'node server.js' },
    };
    expect((await call('POST', '/v1/projects/shop/blocks', block)).status).toBe(201);
    codebuild.on(StartBuildCommand).resolves({ build: { id: 'kinto-builds:uuid' } });

    const started = await call('POST', '/v1/projects/shop/blocks/api/builds');

    expect(started.status).toBe(202);
    const build = started.body.data;
    expect(build.status).toBe('queued');
    expect(codebuild).toHaveReceivedCommandWith(StartBuildCommand, { projectName: 'kinto-builds', idempotencyToken: build.id });

    logs.on(DescribeLogStreamsCommand).resolves({ logStreams: [{ logStreamName: `${build.id}/uuid` }] });
    logs.on(GetLogEventsCommand).resolves({ events: [{ message: '[kinto] source at commit abc' }], nextForwardToken: undefined });
    const log = await api(request('GET', `/v1/projects/shop/blocks/api/builds/${build.id}/log`), {} as Context);
    expect(log.statusCode).toBe(200);
    expect(log.body).toContain('[kinto] source at commit abc');

    await succeed(codebuild.commandCalls(StartBuildCommand)[0].args[0].input.environmentVariablesOverride!);

    const after = await call('GET', `/v1/projects/shop/blocks/api/builds/${build.id}`);
    expect(after.body.data).toMatchObject({ status: 'succeeded', commit: 'abc1234' });
    const blockId = codebuild
      .commandCalls(StartBuildCommand)[0]
      .args[0].input.environmentVariablesOverride!.find((v) => v.name === 'KINTO_BLOCK_ID')!.value!;
    expect(await store.store.builds.get({ blockId, id: build.id })).toMatchObject({ artifact: IMAGE });
  });

  it('hands a deployment to the deployer state machine (202, one execution named after it) and a deletion to the deployer Lambda', async () => {
    await call('POST', '/v1/projects', { name: 'blog' });
    await call('POST', '/v1/projects/blog/blocks', {
      name: 'web',
      type: 'microservice',
      source: { repo: 'https://github.com/acme/blog.git' },
      build: { startCommand: 'node server.js' },
    });
    codebuild.on(StartBuildCommand).resolves({});
    expect((await call('POST', '/v1/projects/blog/blocks/web/builds')).status).toBe(202);
    await succeed(codebuild.commandCalls(StartBuildCommand)[0].args[0].input.environmentVariablesOverride!);
    const env = await call('POST', '/v1/projects/blog/environments', { name: 'dev' });
    expect((await call('POST', '/v1/projects/blog/releases', { version: '1.0.0' })).status).toBe(201);
    sfn.on(StartExecutionCommand).resolves({ executionArn: `${STATE_MACHINE}:x` });

    const deploy = await call('POST', '/v1/projects/blog/environments/dev/deployments', { release: '1.0.0' });

    expect(deploy.status).toBe(202);
    expect(deploy.body.data).toMatchObject({ status: 'in-progress', release: '1.0.0' });
    expect(sfn).toHaveReceivedCommandTimes(StartExecutionCommand, 1);
    expect(sfn).toHaveReceivedCommandWith(StartExecutionCommand, {
      stateMachineArn: STATE_MACHINE,
      name: deploy.body.data.id,
      input: JSON.stringify({ kind: 'advance', envId: env.body.data.id, deploymentId: deploy.body.data.id }),
    });
    // The control API itself changes nothing on AWS: no Lambda or CloudFormation call.
    expect(lambda.calls()).toHaveLength(0);
    expect(cloudformation.calls()).toHaveLength(0);
    // A second deployment waits for this one.
    expect((await call('POST', '/v1/projects/blog/environments/dev/deployments', { release: '1.0.0' })).status).toBe(409);

    await store.store.deployments.update({
      ...(await store.store.deployments.get({ envId: env.body.data.id, id: deploy.body.data.id }))!,
      status: 'failed',
    });
    await store.store.environments.update({ ...(await store.store.environments.getById(env.body.data.id))!, deploying: undefined });
    lambda.on(InvokeCommand).resolves({ StatusCode: 202 });
    expect((await call('DELETE', '/v1/projects/blog/environments/dev', { confirm: 'dev' })).status).toBe(204);
    expect(lambda).toHaveReceivedCommandWith(InvokeCommand, {
      FunctionName: DEPLOYER,
      InvocationType: 'Event',
      Payload: Buffer.from(JSON.stringify({ kind: 'remove', envId: env.body.data.id })),
    });
  });

  /** What EventBridge delivers when the CodeBuild build started with these variables succeeds. */
  async function succeed(variables: EnvironmentVariable[]): Promise<void> {
    codebuild.on(BatchGetBuildsCommand).resolves({
      builds: [
        {
          exportedEnvironmentVariables: [
            { name: 'KINTO_COMMIT', value: 'abc1234' },
            { name: 'KINTO_IMAGE', value: IMAGE },
          ],
        },
      ],
    });
    const events = createBuildEventsHandler({
      store: store.store,
      codebuild: new CodeBuildClient({ region: 'eu-west-1' }),
      log: () => undefined,
    });
    await events({
      detail: {
        'build-status': 'SUCCEEDED',
        'build-id': 'arn:aws:codebuild:eu-west-1:123456789012:build/kinto-builds:uuid',
        'additional-information': { environment: { 'environment-variables': variables } },
      },
    } as unknown as CodeBuildCloudWatchStateEvent);
  }

  describe('Function: readAwsApiConfig', () => {
    it('reads the names the stack sets, and names a missing one', () => {
      const env = {
        STATE_TABLE_NAME: 't',
        ADMIN_TOKEN_SECRET_ARN: 's',
        PLATFORM_KEY_SECRET_ARN: 'k',
        BUILD_PROJECT_NAME: 'p',
        BUILD_LOG_GROUP_NAME: 'g',
        DEPLOYER_STATE_MACHINE_ARN: 'm',
        DEPLOYER_FUNCTION_NAME: 'd',
      };
      expect(readAwsApiConfig(env)).toEqual({
        stateTableName: 't',
        adminTokenSecretArn: 's',
        platformKeySecretArn: 'k',
        buildProjectName: 'p',
        buildLogGroupName: 'g',
        deployerStateMachineArn: 'm',
        deployerFunctionName: 'd',
      });
      expect(() => readAwsApiConfig({ ...env, BUILD_PROJECT_NAME: '' })).toThrow(/BUILD_PROJECT_NAME is not set/);
      expect(readAwsApiConfig({ ...env, LOGS_TABLE_NAME: 'logs' }).logsTableName).toBe('logs');
    });
  });
});

import {
  CloudFormationClient,
  ContinueUpdateRollbackCommand,
  CreateStackCommand,
  DeleteStackCommand,
  DescribeStacksCommand,
  UpdateStackCommand,
} from '@aws-sdk/client-cloudformation';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { BatchGetBuildsCommand, CodeBuildClient, StartBuildCommand } from '@aws-sdk/client-codebuild';
import {
  UpdateAliasCommand,
  UpdateFunctionCodeCommand,
  UpdateFunctionConfigurationCommand,
  PublishVersionCommand,
  InvokeCommand,
} from '@aws-sdk/client-lambda';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { StartExecutionCommand } from '@aws-sdk/client-sfn';
import { UpdateServiceCommand } from '@aws-sdk/client-ecs';
import type { APIGatewayProxyEventV2, CodeBuildCloudWatchStateEvent, Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { synthesizeEnvironment } from '../../lib/synthesize-environment';
import { functionNameOf, stackNameOf } from '../../lambdas/adapters/aws/runtime/environment-description';
import { createAwsApiHandler } from '../../lambdas/handlers/api';
import { createBuildEventsHandler } from '../../lambdas/handlers/build-events';
import { createDeployerHandler, type DeployerConfig } from '../../lambdas/handlers/deployer';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { API_ENDPOINT, CLUSTER_ARN, FILE_SYSTEM_ID, fakeAws, SERVICE_DATA_FUNCTION, type FakeAws } from '../support/fake-aws';
import { startTestStore } from '../support/dynalite-store';

/**
 * The deployer on AWS, end to end at the SDK boundary: the control API records deployments and
 * starts the state machine; the test plays the state machine (Advance until done) with the real
 * deployer handler, the real core on dynalite and real synthesis of environment stacks; AWS is
 * `fakeAws` (aws-sdk-client-mock with the state CloudFormation and Lambda would keep).
 */
const ADMIN = 'admin-token-from-secrets-manager-0123456789';
const PLATFORM_KEY = 'platform-key-from-secrets-manager-0123456789abcdefghijklmnopqrstuvwxyz';
const REPO = '123456789012.dkr.ecr.eu-west-1.amazonaws.com/kinto-blocks';
const image = (n: number) => `${REPO}@sha256:${n.toString(16).padStart(64, '0')}`;
const STATE_MACHINE = 'arn:aws:states:eu-west-1:123456789012:stateMachine:Kinto-deployments';
const DEPLOYER = 'arn:aws:lambda:eu-west-1:123456789012:function:Kinto-DeployerLambda';
const SCHEDULE_GROUP = 'Kinto-service-reapers';
const REAPER = 'arn:aws:lambda:eu-west-1:123456789012:function:Kinto-ServiceWakerReaper';
const REAPER_ROLE = 'arn:aws:iam::123456789012:role/Kinto-ServiceWakerSchedulerRole';
const secrets = mockClient(SecretsManagerClient);
const codebuild = mockClient(CodeBuildClient);

describe('Deployer on AWS (SDK boundary)', () => {
  let store: Awaited<ReturnType<typeof startTestStore>>;
  let aws: FakeAws;
  let api: ReturnType<typeof createAwsApiHandler>;
  let deployer: ReturnType<typeof createDeployerHandler>;
  let builds = 0;
  /** The deployer's clock runs this far ahead of the real one (a test of a time bound moves it). */
  let clockAheadMs = 0;

  const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const res = await api(
      {
        version: '2.0',
        routeKey: '$default',
        rawPath: path,
        rawQueryString: '',
        headers: { authorization: `Bearer ${ADMIN}`, ...(body ? { 'content-type': 'application/json' } : {}), ...headers },
        requestContext: {
          http: { method, path, sourceIp: '203.0.113.9' },
          requestId: `r${Math.random()}`,
          routeKey: '$default',
          stage: '$default',
        },
        isBase64Encoded: false,
        ...(body ? { body: JSON.stringify(body) } : {}),
      } as unknown as APIGatewayProxyEventV2,
      {} as Context,
    );
    const json = /json/.test(String(res.headers?.['content-type'] ?? 'application/json'));
    return { status: res.statusCode, body: res.body ? (json ? JSON.parse(res.body) : res.body) : undefined, headers: res.headers ?? {} };
  };

  /** Plays the state machine: Advance until the deployer says done (waits skipped). */
  const carryOut = async (envId: string, deploymentId: string) => {
    for (let i = 0; i < 40; i++) {
      const next = await deployer({ kind: 'advance', envId, deploymentId }, { invokedFunctionArn: DEPLOYER });
      if (next.done) return i + 1;
    }
    throw new Error('the deployment did not end in 40 advances');
  };

  /** POST a deployment (or promote), check it was handed to the state machine, carry it out, read the record. */
  const deploy = async (project: string, env: string, body: unknown, path = 'deployments') => {
    aws.reset();
    const envId = (await call('GET', `/v1/projects/${project}/environments/${env}`)).body.data.id as string;
    const started = await call('POST', `/v1/projects/${project}/environments/${env}/${path}`, body);
    expect(started.status).toBe(202);
    const d = started.body.data;
    expect(aws.sfn).toHaveReceivedCommandWith(StartExecutionCommand, {
      stateMachineArn: STATE_MACHINE,
      name: d.id,
      input: JSON.stringify({ kind: 'advance', envId, deploymentId: d.id }),
    });
    await carryOut(envId, d.id);
    return (await call('GET', `/v1/projects/${project}/environments/${env}/deployments/${d.id}`)).body.data;
  };

  const build = async (project: string, block: string) => {
    const n = ++builds;
    codebuild.on(StartBuildCommand).resolves({ build: { id: `kinto-builds:${n}` } });
    const started = await call('POST', `/v1/projects/${project}/blocks/${block}/builds`);
    expect(started.status).toBe(202);
    const variables = codebuild.commandCalls(StartBuildCommand).at(-1)!.args[0].input.environmentVariablesOverride!;
    codebuild.on(BatchGetBuildsCommand).resolves({
      builds: [
        {
          exportedEnvironmentVariables: [
            { name: 'KINTO_COMMIT', value: `c0ffee${n}` },
            { name: 'KINTO_IMAGE', value: image(n) },
          ],
        },
      ],
    });
    await createBuildEventsHandler({ store: store.store, codebuild: new CodeBuildClient({ region: 'eu-west-1' }), log: () => undefined })({
      detail: {
        'build-status': 'SUCCEEDED',
        'build-id': `arn:aws:codebuild:eu-west-1:123456789012:build/kinto-builds:${n}`,
        'additional-information': { environment: { 'environment-variables': variables } },
      },
    } as unknown as CodeBuildCloudWatchStateEvent);
    return image(n);
  };

  const setUp = async (project: string) => {
    expect((await call('POST', '/v1/projects', { name: project })).status).toBe(201);
    const source = { repo: 'https://github.com/acme/shop.git' };
    for (const b of [
      { name: 'api', type: 'microservice', source, build: { startCommand: 'node api.js' } },
      { name: 'hooks', type: 'microservice', source, build: { startCommand: 'node hooks.js' } },
      { name: 'migrate', type: 'job', kind: 'pre-deploy', source, build: { startCommand: 'node migrate.js' } },
    ]) {
      expect((await call('POST', `/v1/projects/${project}/blocks`, b)).status).toBe(201);
      await build(project, b.name);
    }
    const env = await call('POST', `/v1/projects/${project}/environments`, { name: 'dev' });
    expect(env.status).toBe(201);
    return env.body.data.id as string;
  };

  beforeAll(async () => {
    store = await startTestStore();
    aws = fakeAws();
    secrets.on(GetSecretValueCommand, { SecretId: 'admin' }).resolves({ SecretString: ADMIN });
    secrets.on(GetSecretValueCommand, { SecretId: 'key' }).resolves({ SecretString: PLATFORM_KEY });
    api = createAwsApiHandler(
      {
        stateTableName: store.tableName,
        adminTokenSecretArn: 'admin',
        platformKeySecretArn: 'key',
        buildProjectName: 'kinto-builds',
        buildLogGroupName: '/kinto/builds',
        deployerStateMachineArn: STATE_MACHINE,
        deployerFunctionName: DEPLOYER,
        serviceDataFunctionName: SERVICE_DATA_FUNCTION,
      },
      {
        dynamodb: store.dynamo.client,
        secrets: new SecretsManagerClient({ region: 'eu-west-1' }),
        codebuild: new CodeBuildClient({ region: 'eu-west-1' }),
        logs: new CloudWatchLogsClient({ region: 'eu-west-1' }),
        lambda: aws.clients.lambda,
        cloudformation: new CloudFormationClient({ region: 'eu-west-1' }),
        sfn: aws.clients.sfn,
      },
    );
    const config: DeployerConfig = {
      stateTableName: store.tableName,
      platformKeySecretArn: 'key',
      stateMachineArn: STATE_MACHINE,
      stackRoleArn: 'arn:aws:iam::123456789012:role/Kinto-DeployerStackRole',
      templateBucket: 'kinto-templates',
      platform: {
        gatewayFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:Kinto-Gateway',
        authorizerFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:Kinto-Authorizer',
        logIndexerFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:Kinto-LogIndexer',
        imageRepositoryArn: 'arn:aws:ecr:eu-west-1:123456789012:repository/kinto-blocks',
        permissionsBoundaryArn: 'arn:aws:iam::123456789012:policy/Kinto-eu-west-1-environment-boundary',
        services: {
          clusterArn: CLUSTER_ARN,
          clusterName: 'Kinto-BlocksCluster',
          vpcId: 'vpc-0123456789abcdef0',
          taskSubnetIds: ['subnet-0a1b2c3d4e5f60001'],
          functionSubnetIds: ['subnet-0a1b2c3d4e5f60003'],
          tasksSecurityGroupId: 'sg-0a1b2c3d4e5f60005',
          fileSystemId: FILE_SYSTEM_ID,
          fileSystemArn: `arn:aws:elasticfilesystem:eu-west-1:123456789012:file-system/${FILE_SYSTEM_ID}`,
          namespaceId: 'ns-abcdefghijklmnop',
          namespaceArn: 'arn:aws:servicediscovery:eu-west-1:123456789012:namespace/ns-abcdefghijklmnop',
          wakerFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:Kinto-ServiceWaker',
        },
      },
      serviceWaking: { scheduleGroup: SCHEDULE_GROUP, reaperFunctionArn: REAPER, reaperRoleArn: REAPER_ROLE },
    };
    deployer = createDeployerHandler(
      config,
      { dynamodb: store.dynamo.client, secrets: new SecretsManagerClient({ region: 'eu-west-1' }), ...aws.clients },
      synthesizeEnvironment,
      { now: () => new Date(Date.now() + clockAheadMs) },
    );
  });
  afterAll(async () => {
    aws.restore();
    secrets.restore();
    codebuild.restore();
    await store.close();
  });

  describe('one environment through its life', () => {
    let envId: string;
    const fnName = (block: string) => functionNameOf(envId, block);

    beforeAll(async () => {
      envId = await setUp('shop');
      expect((await call('POST', '/v1/projects/shop/releases', { version: '1.0.0' })).status).toBe(201);
    });

    it('first deploy: creates the stack (template via S3, parameters, the deployer passes the stack role), runs the job, publishes versions, moves aliases', async () => {
      const d = await deploy('shop', 'dev', { release: '1.0.0' });

      expect(d).toMatchObject({ status: 'succeeded' });
      expect(aws.cloudformation).toHaveReceivedCommandTimes(CreateStackCommand, 1);
      const create = aws.cloudformation.commandCalls(CreateStackCommand)[0].args[0].input;
      expect(create).toMatchObject({
        StackName: stackNameOf(envId),
        RoleARN: 'arn:aws:iam::123456789012:role/Kinto-DeployerStackRole',
        ClientRequestToken: d.id,
        Capabilities: ['CAPABILITY_IAM'],
      });
      // Inline up to CloudFormation's 51,200 bytes, through the template bucket beyond (a 3-block stack is under it).
      expect(Buffer.byteLength(create.TemplateBody!)).toBeLessThanOrEqual(51_200);
      const params = Object.fromEntries(create.Parameters!.map((p) => [p.ParameterKey, p.ParameterValue]));
      expect(params).toMatchObject({ ImageApi: image(1), ImageHooks: image(2), ImageMigrate: image(3), VersionApi: '$LATEST' });
      expect(params.InternalKey).toMatch(/^[A-Za-z0-9_-]{43}$/);
      // The stack made the functions with exactly what the deployer wants: no configuration update follows.
      expect(aws.lambda).toHaveReceivedCommandTimes(UpdateFunctionConfigurationCommand, 0);
      expect(aws.lambda).toHaveReceivedCommandTimes(UpdateFunctionCodeCommand, 0);
      expect(aws.lambda).toHaveReceivedCommandTimes(PublishVersionCommand, 3);
      for (const b of ['api', 'hooks', 'migrate']) expect(aws.functions.get(fnName(b))!.aliases.live).toBe('1');
      expect(aws.functions.get(fnName('api'))!.environment).toMatchObject({
        KINTO_RELEASE: '1.0.0',
        KINTO_GATEWAY_URL: API_ENDPOINT,
        KINTO_BLOCK_HOOKS_URL: `${API_ENDPOINT}/_internal/${params.InternalKey}/hooks`,
      });
      // The pre-deploy job ran through its alias, before the switch, and its run is recorded with its output.
      expect(aws.lambda).toHaveReceivedCommandWith(InvokeCommand, {
        FunctionName: fnName('migrate'),
        Qualifier: 'live',
        InvocationType: 'RequestResponse',
      });
      const runs = (await call('GET', '/v1/projects/shop/environments/dev/blocks/migrate/runs')).body.data;
      expect(runs[0]).toMatchObject({ status: 'succeeded', trigger: 'pre-deploy', exitCode: 0 });
      const log = await call('GET', `/v1/projects/shop/environments/dev/blocks/migrate/runs/${runs[0].id}/log`);
      expect(log).toMatchObject({ status: 200, body: 'job ran\n' });
      const env = (await call('GET', '/v1/projects/shop/environments/dev')).body.data;
      expect(env).toMatchObject({ gatewayUrl: API_ENDPOINT, running: { release: '1.0.0' } });
      expect(aws.stage.format).toContain('"release":"1.0.0"');
    });

    it('the same deploy again writes nothing', async () => {
      const d = await deploy('shop', 'dev', { release: '1.0.0' });
      expect(d.status).toBe('succeeded');
      // The pre-deploy job runs again (a run per deployment): that is an invocation, not a change.
      expect(aws.writes()).toEqual([]);
    });

    it('a configuration-only change takes the fast path: one function updated, published and its alias moved; no stack update', async () => {
      const config = await call('GET', '/v1/projects/shop/environments/dev/blocks/api/config');
      const put = await call(
        'PUT',
        '/v1/projects/shop/environments/dev/blocks/api/config',
        { ...pick(config.body.data, ['visibility', 'memoryMb']), variables: { GREETING: 'hello' } },
        { 'if-match': String(config.headers.etag ?? config.body.data.revision ?? '') },
      );
      expect(put.status).toBe(200);
      const d = await deploy('shop', 'dev', { release: '1.0.0' });
      expect(d.status).toBe('succeeded');
      expect(aws.writes()).toEqual(['UpdateFunctionConfiguration', 'PublishVersion', 'UpdateAlias']);
      expect(aws.lambda).toHaveReceivedCommandWith(UpdateFunctionConfigurationCommand, {
        FunctionName: fnName('api'),
        Environment: { Variables: expect.objectContaining({ GREETING: 'hello', KINTO_GATEWAY_URL: API_ENDPOINT }) },
      });
      expect(aws.functions.get(fnName('api'))!.aliases.live).toBe('2');
    });

    it('a new release with new code: UpdateFunctionCode, a version, the alias; the access-log format names the release', async () => {
      await build('shop', 'hooks');
      expect((await call('POST', '/v1/projects/shop/releases', { version: '1.1.0' })).status).toBe(201);
      const d = await deploy('shop', 'dev', { release: '1.1.0' });
      expect(d.status).toBe('succeeded');
      expect(aws.cloudformation).toHaveReceivedCommandTimes(UpdateStackCommand, 0);
      expect(aws.lambda).toHaveReceivedCommandWith(UpdateFunctionCodeCommand, { FunctionName: fnName('hooks'), ImageUri: image(builds) });
      expect(aws.stage.format).toContain('"release":"1.1.0"');
    });

    it('a rollback to a release whose versions exist moves aliases only (and the access-log format)', async () => {
      const d = await deploy('shop', 'dev', { release: '1.0.0' });
      expect(d.status).toBe('succeeded');
      expect(aws.writes().filter((w) => w !== 'UpdateStage')).toEqual(['UpdateAlias', 'UpdateAlias', 'UpdateAlias']);
      expect(aws.functions.get(fnName('hooks'))!.aliases.live).toBe('1');
      expect(aws.stage.format).toContain('"release":"1.0.0"');
    });

    it('a change of the infrastructure (visibility) is a stack update that carries every alias version, so nothing reverts', async () => {
      const config = await call('GET', '/v1/projects/shop/environments/dev/blocks/hooks/config');
      expect(
        (
          await call(
            'PUT',
            '/v1/projects/shop/environments/dev/blocks/hooks/config',
            { ...pick(config.body.data, ['memoryMb']), visibility: 'public' },
            { 'if-match': String(config.headers.etag ?? config.body.data.revision ?? '') },
          )
        ).status,
      ).toBe(200);
      const d = await deploy('shop', 'dev', { release: '1.0.0' });
      expect(d.status).toBe('succeeded');
      expect(aws.cloudformation).toHaveReceivedCommandTimes(UpdateStackCommand, 1);
      const params = Object.fromEntries(
        aws.cloudformation.commandCalls(UpdateStackCommand)[0].args[0].input.Parameters!.map((p) => [p.ParameterKey, p.ParameterValue]),
      );
      expect(params).toMatchObject({ VersionApi: '2', VersionHooks: '1', VersionMigrate: '1' });
      expect(aws.functions.get(fnName('api'))!.aliases.live).toBe('2');
    });

    it('a stack update that fails is rolled back by CloudFormation; the deployment fails with its reason; a retry completes', async () => {
      const config = await call('GET', '/v1/projects/shop/environments/dev/blocks/hooks/config');
      await call(
        'PUT',
        '/v1/projects/shop/environments/dev/blocks/hooks/config',
        { ...pick(config.body.data, ['memoryMb']), visibility: 'protected' },
        { 'if-match': String(config.headers.etag ?? config.body.data.revision ?? '') },
      );
      aws.faults.stackFailure = 'Resource limit exceeded (Service: Lambda)';
      const failed = await deploy('shop', 'dev', { release: '1.0.0' });
      // The infrastructure changes while preparing (so that new functions exist for pre-deploy jobs).
      expect(failed).toMatchObject({ status: 'failed', failedStep: 'prepare:api' });
      expect(failed.error).toContain('Resource limit exceeded');
      expect((await call('GET', '/v1/projects/shop/environments/dev')).body.data.running.deploymentId).not.toBe(failed.id);

      const retried = await deploy('shop', 'dev', { release: '1.0.0' });
      expect(retried.status).toBe('succeeded');
      expect(aws.cloudformation).toHaveReceivedCommandTimes(UpdateStackCommand, 1);
    });

    it('a throttled call in the middle is asked again later, and the deployment completes', async () => {
      await build('shop', 'api');
      expect((await call('POST', '/v1/projects/shop/releases', { version: '1.2.0' })).status).toBe(201);
      aws.faults.throttleNext = 'PublishVersion';
      const d = await deploy('shop', 'dev', { release: '1.2.0' });
      expect(d.status).toBe('succeeded');
      // The throttled one for api, then the one that worked; one each for the other two (a new release changes them all).
      const published = aws.lambda.commandCalls(PublishVersionCommand).map((c) => c.args[0].input.FunctionName);
      expect(published.filter((n) => n === fnName('api'))).toHaveLength(2);
      expect(published).toHaveLength(4);
    });

    it("a stack stuck in UPDATE_ROLLBACK_FAILED is continued, and the deployment fails with the stack's reason", async () => {
      const config = await call('GET', '/v1/projects/shop/environments/dev/blocks/hooks/config');
      await call(
        'PUT',
        '/v1/projects/shop/environments/dev/blocks/hooks/config',
        { ...pick(config.body.data, ['memoryMb']), visibility: 'public' },
        { 'if-match': String(config.headers.etag ?? config.body.data.revision ?? '') },
      );
      aws.faults.stackFailure = 'Role kinto-env-x could not be deleted';
      aws.faults.stuckInRollback = true;
      const stuck = await deploy('shop', 'dev', { release: '1.2.0' });
      aws.faults.stuckInRollback = false;
      expect(aws.cloudformation).toHaveReceivedCommandWith(ContinueUpdateRollbackCommand, {
        StackName: stackNameOf(envId),
        RoleARN: 'arn:aws:iam::123456789012:role/Kinto-DeployerStackRole',
      });
      expect(stuck).toMatchObject({ status: 'failed', failedStep: 'prepare:api' });
      expect(stuck.error).toMatch(/UPDATE_ROLLBACK_FAILED.*could not be deleted.*deploy again/);
      // The rollback was continued: the next deploy updates the stack as usual.
      expect((await deploy('shop', 'dev', { release: '1.2.0' })).status).toBe('succeeded');
    });

    it('promote: the release running in dev goes to a new environment, which gets a stack of its own', async () => {
      const prod = await call('POST', '/v1/projects/shop/environments', { name: 'prod' });
      const d = await deploy('shop', 'prod', { from: 'dev' }, 'promote');
      expect(d).toMatchObject({ status: 'succeeded', release: '1.2.0' });
      expect(aws.cloudformation).toHaveReceivedCommandWith(CreateStackCommand, { StackName: stackNameOf(prod.body.data.id) });
      expect(aws.functions.get(functionNameOf(prod.body.data.id, 'api'))!.aliases.live).toBe('1');
    });

    it('shut down: the stack keeps only what bills nothing (no functions); a deploy brings the environment back', async () => {
      aws.reset();
      expect((await call('POST', '/v1/projects/shop/environments/dev/shutdown')).status).toBe(200);
      const handedOver = aws.lambda.commandCalls(InvokeCommand).map((c) => c.args[0].input);
      expect(handedOver).toEqual([
        { FunctionName: DEPLOYER, InvocationType: 'Event', Payload: Buffer.from(JSON.stringify({ kind: 'stop', envId })) },
      ]);
      await deployer({ kind: 'stop', envId }, { invokedFunctionArn: DEPLOYER });
      const update = aws.cloudformation.commandCalls(UpdateStackCommand)[0].args[0].input;
      expect(JSON.stringify(update)).not.toContain('AWS::Lambda::Function');
      await aws.clients.cloudformation.send(
        new (await import('@aws-sdk/client-cloudformation')).DescribeStacksCommand({ StackName: stackNameOf(envId) }),
      );
      expect([...aws.functions.keys()].filter((n) => n.startsWith(`kinto-${envId.slice(0, 12)}-`))).toEqual([]);

      const back = await deploy('shop', 'dev', { release: '1.2.0' });
      expect(back.status).toBe('succeeded');
      expect(aws.functions.get(fnName('api'))!.aliases.live).toBe('1');
    });

    it('delete: the control API hands the stack to the deployer, which deletes it', async () => {
      aws.reset();
      // No custom service, no data: 204, once the service-data function found no folder.
      expect((await call('DELETE', '/v1/projects/shop/environments/dev', { confirm: 'dev' })).status).toBe(204);
      expect(aws.lambda.commandCalls(InvokeCommand).map((c) => c.args[0].input)).toEqual([
        { FunctionName: DEPLOYER, InvocationType: 'Event', Payload: Buffer.from(JSON.stringify({ kind: 'remove', envId })) },
        {
          FunctionName: SERVICE_DATA_FUNCTION,
          InvocationType: 'RequestResponse',
          Payload: Buffer.from(JSON.stringify({ action: 'list', envId })),
        },
      ]);
      await deployer({ kind: 'remove', envId }, { invokedFunctionArn: DEPLOYER });
      expect(aws.cloudformation).toHaveReceivedCommandWith(DeleteStackCommand, {
        StackName: stackNameOf(envId),
        RoleARN: 'arn:aws:iam::123456789012:role/Kinto-DeployerStackRole',
      });
      // Asked again (a retried event): nothing more.
      await aws.clients.cloudformation
        .send(new (await import('@aws-sdk/client-cloudformation')).DescribeStacksCommand({ StackName: stackNameOf(envId) }))
        .catch(() => undefined);
      aws.reset();
      await deployer({ kind: 'remove', envId }, { invokedFunctionArn: DEPLOYER });
      expect(aws.cloudformation).toHaveReceivedCommandTimes(DeleteStackCommand, 0);
    });
  });

  describe("custom services' data when an environment is deleted", () => {
    const dataCall = (action: 'list' | 'delete', envId: string) => ({
      FunctionName: SERVICE_DATA_FUNCTION,
      InvocationType: 'RequestResponse',
      Payload: Buffer.from(JSON.stringify({ action, envId })),
    });
    const location = (envId: string, block: string) => `efs://${FILE_SYSTEM_ID}/kinto/${envId}/${block}`;
    const removeStack = async (envId: string) => {
      await deployer({ kind: 'remove', envId }, { invokedFunctionArn: DEPLOYER });
      await aws.clients.cloudformation
        .send(new (await import('@aws-sdk/client-cloudformation')).DescribeStacksCommand({ StackName: stackNameOf(envId) }))
        .catch(() => undefined);
      expect(aws.stacks.has(stackNameOf(envId))).toBe(false);
    };
    /** An environment of project `store` running a release with a custom service `cache` (its stack made its folder on EFS). */
    const withService = async (env: string) => {
      const envId = (await call('POST', '/v1/projects/store/environments', { name: env })).body.data.id as string;
      expect(await deploy('store', env, { release: '1.0.0' })).toMatchObject({ status: 'succeeded' });
      const template = JSON.stringify(aws.stacks.get(stackNameOf(envId))!.template);
      expect(template).toContain('AWS::EFS::AccessPoint');
      expect(readdirSync(join(aws.efs, envId, 'cache'))).toEqual(['dump.rdb']);
      return envId;
    };

    beforeAll(async () => {
      expect((await call('POST', '/v1/projects', { name: 'store' })).status).toBe(201);
      const source = { repo: 'https://github.com/acme/store.git' };
      for (const b of [
        { name: 'api', type: 'microservice', source, build: { startCommand: 'node api.js' } },
        { name: 'cache', type: 'custom-service', source, build: { startCommand: 'redis-server' } },
      ]) {
        expect((await call('POST', '/v1/projects/store/blocks', b)).status).toBe(201);
        await build('store', b.name);
      }
      expect((await call('POST', '/v1/projects/store/releases', { version: '1.0.0' })).status).toBe(201);
    });

    it('kept by default: 200 names it (EFS location); deleting the stack leaves the folder', async () => {
      const envId = await withService('dev');
      aws.reset();
      const res = await call('DELETE', '/v1/projects/store/environments/dev', { confirm: 'dev' });
      expect(res.status).toBe(200);
      expect(res.body.data).toEqual({
        keptData: [{ environment: 'dev', environmentId: envId, block: 'cache', location: location(envId, 'cache') }],
        deletedData: [],
        message: expect.stringContaining(`dev/cache (${location(envId, 'cache')})`),
      });
      expect(res.body.data.message).toContain('{"confirm": "dev", "deleteData": true}');
      // The stack goes to the deployer; the data is only listed (nothing written on EFS).
      expect(aws.lambda.commandCalls(InvokeCommand).map((c) => c.args[0].input)).toEqual([
        { FunctionName: DEPLOYER, InvocationType: 'Event', Payload: Buffer.from(JSON.stringify({ kind: 'remove', envId })) },
        dataCall('list', envId),
      ]);
      await removeStack(envId);
      expect(readdirSync(join(aws.efs, envId, 'cache'))).toEqual(['dump.rdb']);
    });

    it('deleted when asked: 200 names what was deleted, and the folder is gone', async () => {
      const envId = await withService('qa');
      aws.reset();
      const res = await call('DELETE', '/v1/projects/store/environments/qa', { confirm: 'qa', deleteData: true });
      expect(res.status).toBe(200);
      expect(res.body.data).toEqual({
        keptData: [],
        deletedData: [{ environment: 'qa', environmentId: envId, block: 'cache', location: location(envId, 'cache') }],
        message: `Deleted, with the data of its custom services: qa/cache (${location(envId, 'cache')}).`,
      });
      expect(aws.lambda.commandCalls(InvokeCommand).map((c) => c.args[0].input)).toEqual([
        { FunctionName: DEPLOYER, InvocationType: 'Event', Payload: Buffer.from(JSON.stringify({ kind: 'remove', envId })) },
        dataCall('delete', envId),
      ]);
      expect(existsSync(join(aws.efs, envId))).toBe(false);
      await removeStack(envId);
      expect(existsSync(join(aws.efs, envId))).toBe(false);
    });

    it('a deletion of the data that fails is an error naming the folder, never a success', async () => {
      const envId = await withService('stage');
      aws.reset();
      aws.faults.serviceData = 'Task timed out after 25.03 seconds';
      const res = await call('DELETE', '/v1/projects/store/environments/stage', { confirm: 'stage', deleteData: true });
      expect(res.status).toBe(502);
      expect(res.body.error.code).toBe('SERVICE_DATA_FAILED');
      expect(res.body.error.message).toContain('Task timed out after 25.03 seconds');
      expect(res.body.error.message).toContain(`/kinto/${envId}/`);
      expect(res.body.error.message).toContain(`delete it later with DELETE /v1/kept-data/${envId}`);
      expect(res.body.error.message).toMatch(/^Environment "stage" is deleted, but /);
      expect(readdirSync(join(aws.efs, envId, 'cache'))).toEqual(['dump.rdb']);
      // The data step comes last: nothing else of the environment is left behind by its failure.
      expect((await call('GET', '/v1/projects/store/environments/stage')).status).toBe(404);
      expect((await store.store.deployments.list({ envId })).items).toEqual([]);
      expect((await store.store.clients.list({ envId })).items).toEqual([]);
      expect((await store.store.blockConfigs.list({ envId })).items).toEqual([]);
    });

    it('what deleted environments left (kept, or a deletion that failed) is listed, and deleted later', async () => {
      const envIdOf = async (env: string) => {
        const id = (await call('POST', '/v1/projects/store/environments', { name: env })).body.data.id as string;
        expect(await deploy('store', env, { release: '1.0.0' })).toMatchObject({ status: 'succeeded' });
        return id;
      };
      const [kept, failed, live] = [await envIdOf('k1'), await envIdOf('k2'), await envIdOf('k3')];
      expect((await call('DELETE', '/v1/projects/store/environments/k1', { confirm: 'k1' })).status).toBe(200);
      aws.faults.serviceData = 'Task timed out after 25.03 seconds';
      expect((await call('DELETE', '/v1/projects/store/environments/k2', { confirm: 'k2', deleteData: true })).status).toBe(502);
      // Their stacks are being deleted (their tasks may still run): their data is neither listed nor deleted yet.
      const early = await call('DELETE', `/v1/kept-data/${failed}`, { confirm: failed });
      expect([early.status, early.body.error.code]).toEqual([409, 'ENVIRONMENT_STOPPING']);
      expect((await call('GET', '/v1/kept-data')).body.data.map((d: { environmentId: string }) => d.environmentId)).not.toContain(failed);
      expect(readdirSync(join(aws.efs, failed, 'cache'))).toEqual(['dump.rdb']);
      for (const id of [kept, failed]) await removeStack(id);
      aws.reset();

      const listed = await call('GET', '/v1/kept-data');
      expect(listed.status).toBe(200);
      const ours = [kept, failed].sort();
      // Only deleted environments' data (k3's is its own), whatever earlier tests left.
      expect(listed.body.data.filter((d: { environmentId: string }) => [kept, failed, live].includes(d.environmentId))).toEqual(
        ours.map((id) => ({ environmentId: id, block: 'cache', location: location(id, 'cache') })),
      );
      const invoked = aws.lambda
        .commandCalls(InvokeCommand)
        .map((c) => JSON.parse(Buffer.from(c.args[0].input.Payload as Uint8Array).toString()));
      expect(invoked[0]).toEqual({ action: 'environments' });
      expect(invoked).not.toContainEqual({ action: 'list', envId: live });
      expect(invoked).toEqual(expect.arrayContaining(ours.map((id) => ({ action: 'list', envId: id }))));

      expect((await call('DELETE', `/v1/kept-data/${live}`, { confirm: live })).body.error.code).toBe('ENVIRONMENT_EXISTS');
      expect(readdirSync(join(aws.efs, live, 'cache'))).toEqual(['dump.rdb']);
      aws.reset();
      const res = await call('DELETE', `/v1/kept-data/${failed}`, { confirm: failed });
      expect(res.status).toBe(200);
      expect(res.body.data).toEqual({ deletedData: [{ environmentId: failed, block: 'cache', location: location(failed, 'cache') }] });
      // No scan first: whether its stack is gone, then the deletion itself.
      expect(aws.cloudformation).toHaveReceivedCommandWith(DescribeStacksCommand, { StackName: stackNameOf(failed) });
      expect(aws.lambda.commandCalls(InvokeCommand).map((c) => c.args[0].input)).toEqual([dataCall('delete', failed)]);
      expect(existsSync(join(aws.efs, failed))).toBe(false);
      expect(readdirSync(join(aws.efs, kept, 'cache'))).toEqual(['dump.rdb']);
      expect((await call('DELETE', '/v1/projects/store/environments/k3', { confirm: 'k3', deleteData: true })).status).toBe(200);
    });

    it('a project: the data of each of its environments, kept or deleted as asked', async () => {
      const envId = await withService('prod');
      aws.reset();
      const res = await call('DELETE', '/v1/projects/store', { confirm: 'store', deleteData: true });
      expect(res.status).toBe(200);
      expect(res.body.data.deletedData).toEqual([
        { environment: 'prod', environmentId: envId, block: 'cache', location: location(envId, 'cache') },
      ]);
      expect(aws.lambda).toHaveReceivedCommandWith(InvokeCommand, dataCall('delete', envId));
      expect(existsSync(join(aws.efs, envId))).toBe(false);
    });
  });

  describe("custom services are running before a deployment's jobs", () => {
    const serviceArn = (envId: string, block: string) =>
      `${CLUSTER_ARN.replace(':cluster/', ':service/')}/kinto-${envId.slice(0, 12)}-${block}`;
    /** Plays the state machine, and after each "check later" reads what the deployment record says it waits for. */
    const carryOutWatching = async (project: string, env: string, release: string, onLater?: () => void) => {
      aws.reset();
      const envId = (await call('GET', `/v1/projects/${project}/environments/${env}`)).body.data.id as string;
      const started = (await call('POST', `/v1/projects/${project}/environments/${env}/deployments`, { release })).body.data;
      const waits: string[] = [];
      for (let i = 0; i < 100; i++) {
        const next = await deployer({ kind: 'advance', envId, deploymentId: started.id }, { invokedFunctionArn: DEPLOYER });
        if (next.done) break;
        const d = (await call('GET', `/v1/projects/${project}/environments/${env}/deployments/${started.id}`)).body.data;
        const running = d.steps.find((st: { status: string }) => st.status === 'running');
        waits.push(`${running.id} after ${next.checkAfterSeconds} s: ${running.message}`);
        onLater?.();
      }
      const d = (await call('GET', `/v1/projects/${project}/environments/${env}/deployments/${started.id}`)).body.data;
      return { envId, d, waits };
    };
    const images: Record<string, string> = {};
    const isServiceCall = ([name]: [string, unknown]) =>
      /^(ListServices|DescribeServices|UpdateService|TagResource|CreateSchedule)$/.test(name);

    beforeAll(async () => {
      const source = { repo: 'https://github.com/acme/pay.git' };
      for (const [project, blocks] of [
        [
          'pay',
          [
            { name: 'db', type: 'custom-service', source, build: { startCommand: 'postgres' } },
            { name: 'api', type: 'microservice', source, build: { startCommand: 'node api.js' } },
            { name: 'migrate', type: 'job', kind: 'pre-deploy', source, build: { startCommand: 'node migrate.js' } },
          ],
        ],
        [
          'quiet',
          [
            { name: 'db', type: 'custom-service', source, build: { startCommand: 'postgres' } },
            { name: 'api', type: 'microservice', source, build: { startCommand: 'node api.js' } },
          ],
        ],
      ] as const) {
        expect((await call('POST', '/v1/projects', { name: project })).status).toBe(201);
        for (const b of blocks) {
          expect((await call('POST', `/v1/projects/${project}/blocks`, b)).status).toBe(201);
          images[`${project}/${b.name}`] = await build(project, b.name);
        }
        expect((await call('POST', `/v1/projects/${project}/releases`, { version: '1.0.0' })).status).toBe(201);
        expect((await call('POST', `/v1/projects/${project}/environments`, { name: 'dev' })).status).toBe(201);
      }
    });

    it("wakes the environment's services before the pre-deploy job's Invoke, waits while the task is PENDING, goes on once it is RUNNING", async () => {
      const { envId, d, waits } = await carryOutWatching('pay', 'dev', '1.0.0');
      expect(d).toMatchObject({ status: 'succeeded' });
      const db = serviceArn(envId, 'db');
      // The stack made the service asleep; db's own prepare woke it (the waker's steps, in its order);
      // the last prepare step (migrate's) waited while its task was PENDING; then the job ran.
      const calls = aws
        .timeline()
        .filter((c) => isServiceCall(c) || (c[0] === 'Invoke' && c[1].FunctionName === functionNameOf(envId, 'migrate')));
      expect(calls.slice(0, 9).map(([name]) => name)).toEqual([
        'ListServices',
        'DescribeServices',
        'CreateSchedule',
        'UpdateService',
        'TagResource',
        'ListServices',
        'DescribeServices',
        'ListServices',
        'DescribeServices',
      ]);
      // While the job runs, its services are kept awake (a look from its start; traffic just recorded, so nothing written).
      expect(
        calls
          .slice(9)
          .map(([name]) => name)
          .sort(),
      ).toEqual(['DescribeServices', 'Invoke', 'ListServices']);
      expect(calls[0][1]).toEqual({ cluster: CLUSTER_ARN, maxResults: 100 });
      expect(calls[1][1]).toEqual({ cluster: CLUSTER_ARN, services: [db], include: ['TAGS'] });
      expect(calls[2][1]).toEqual({
        Name: `kinto-${envId.slice(0, 12)}-db`,
        GroupName: SCHEDULE_GROUP,
        Description: `Kinto: puts custom service kinto-${envId.slice(0, 12)}-db to sleep once it has been idle long enough`,
        ScheduleExpression: 'rate(1 minute)',
        FlexibleTimeWindow: { Mode: 'OFF' },
        State: 'ENABLED',
        Target: { Arn: REAPER, RoleArn: REAPER_ROLE, Input: JSON.stringify({ service: db }), RetryPolicy: { MaximumRetryAttempts: 0 } },
      });
      expect(calls[3][1]).toEqual({ cluster: CLUSTER_ARN, service: db, desiredCount: 1 });
      expect(calls[4][1]).toEqual({ resourceArn: db, tags: [{ key: 'kinto:last-traffic', value: expect.stringMatching(/^\d{10}$/) }] });
      expect(calls.find(([name]) => name === 'Invoke')![1]).toMatchObject({ Qualifier: 'live', InvocationType: 'RequestResponse' });
      // Asked again in 5 s while the task was PENDING, with what ECS said.
      expect(waits.filter((w) => w.startsWith('prepare:migrate'))).toEqual([
        expect.stringMatching(
          /^prepare:migrate after 5 s: waiting for custom services to run before the jobs \(0 s\): "db" \(desired 1, running 0, pending 1; ECS: \(service kinto-\w{12}-db\) has started 1 tasks/,
        ),
      ]);
      expect(aws.services.get(db)).toMatchObject({ desired: 1, running: 1 });
      // What the deployment keeps of its blocks is what they made (the wait's start is gone once it ended).
      const record = await store.store.deployments.get({ envId, id: d.id });
      expect(record!.prepared!.migrate).toEqual({ version: '1', hash: expect.any(String) });
      expect(record!.prepared!.db).toEqual({ hash: images['pay/db'] });
    });

    it('the same deploy again, with the service awake: nothing woken, no wait', async () => {
      const { envId, d, waits } = await carryOutWatching('pay', 'dev', '1.0.0');
      expect(d).toMatchObject({ status: 'succeeded' });
      expect(waits).toEqual([]);
      expect(
        aws
          .timeline()
          .filter(isServiceCall)
          .map(([name]) => name),
      ).toEqual(['ListServices', 'DescribeServices', 'ListServices', 'DescribeServices', 'ListServices', 'DescribeServices']);
      expect(aws.services.get(serviceArn(envId, 'db'))).toMatchObject({ desired: 1, running: 1 });
    });

    it('a deployment without jobs wakes nothing: its services stay asleep (idle stays free)', async () => {
      const { envId, d } = await carryOutWatching('quiet', 'dev', '1.0.0');
      expect(d).toMatchObject({ status: 'succeeded' });
      expect(aws.ecs.calls()).toHaveLength(0);
      expect(aws.scheduler.calls()).toHaveLength(0);
      expect(aws.services.get(serviceArn(envId, 'db'))).toMatchObject({ desired: 0, running: 0 });
    });

    it("a service that never runs fails the deployment after 5 minutes, with ECS's reason; the job never runs", async () => {
      expect((await call('POST', '/v1/projects/pay/environments', { name: 'qa' })).status).toBe(201);
      aws.faults.serviceNeverRuns = '(service db) failed to launch a task with (error CannotPullContainerError: pull access denied)';
      try {
        // A minute passes between two checks (the deployer asks every 5 s; the clock jumps to keep this short).
        const { envId, d, waits } = await carryOutWatching('pay', 'qa', '1.0.0', () => void (clockAheadMs += 61_000));
        expect(d).toMatchObject({ status: 'failed', failedStep: 'prepare:migrate' });
        expect(d.error).toBe(
          'custom service "db" (desired 1, running 0, pending 1; ECS: (service db) failed to launch a task with (error CannotPullContainerError: pull access denied)) ' +
            "did not run within 5 minutes of being woken, so the deployment's jobs, which connect to it, were not run; the service's log says why a task stopped",
        );
        expect(d.steps.find((st: { id: string }) => st.id === 'pre-deploy:migrate')).toMatchObject({ status: 'skipped' });
        expect(
          aws.lambda.commandCalls(InvokeCommand).filter((c) => c.args[0].input.FunctionName === functionNameOf(envId, 'migrate')),
        ).toEqual([]);
        expect(waits.filter((w) => w.startsWith('prepare:migrate')).length).toBeGreaterThanOrEqual(5);
        // Woken once; the reaper puts it back to sleep after its idle time (its schedule exists).
        expect(aws.ecs).toHaveReceivedCommandTimes(UpdateServiceCommand, 1);
        expect(aws.schedules.has(`${SCHEDULE_GROUP}/kinto-${envId.slice(0, 12)}-db`)).toBe(true);
        expect((await call('GET', '/v1/projects/pay/environments/qa')).body.data.running).toBeNull();
      } finally {
        aws.faults.serviceNeverRuns = undefined;
      }
    });
  });

  it('settles a deployment whose execution failed for good (abort): failed, the environment free again', async () => {
    const envId = await setUp('blog');
    expect((await call('POST', '/v1/projects/blog/releases', { version: '1.0.0' })).status).toBe(201);
    aws.reset();
    const started = (await call('POST', '/v1/projects/blog/environments/dev/deployments', { release: '1.0.0' })).body.data;
    await deployer(
      {
        kind: 'abort',
        envId,
        deploymentId: started.id,
        error: { Error: 'Lambda.Unknown', Cause: '{"errorMessage":"Task timed out after 900.00 seconds"}' },
      },
      { invokedFunctionArn: DEPLOYER },
    );
    const d = (await call('GET', `/v1/projects/blog/environments/dev/deployments/${started.id}`)).body.data;
    expect(d).toMatchObject({ status: 'failed' });
    expect(d.error).toContain('the deployer stopped: Lambda.Unknown: Task timed out after 900.00 seconds');
    expect((await call('POST', '/v1/projects/blog/environments/dev/deployments', { release: '1.0.0' })).status).toBe(202);
  });

  it('refuses an event it does not know (a schema error, nothing done)', async () => {
    await expect(deployer({ kind: 'explode' }, { invokedFunctionArn: DEPLOYER })).rejects.toThrow();
  });
});

function pick(o: Record<string, unknown>, keys: string[]): Record<string, unknown> {
  return Object.fromEntries(keys.filter((k) => o[k] !== undefined).map((k) => [k, o[k]]));
}

void UpdateAliasCommand;

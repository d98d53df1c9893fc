import { ApiGatewayV2Client } from '@aws-sdk/client-apigatewayv2';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ECSClient } from '@aws-sdk/client-ecs';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { S3Client } from '@aws-sdk/client-s3';
import { SchedulerClient } from '@aws-sdk/client-scheduler';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SFNClient } from '@aws-sdk/client-sfn';
import type { Context } from 'aws-lambda';
import { synthesizeEnvironment } from '../../../lib/synthesize-environment';
import { deployerEvent, type AdvanceAnswer } from '../../adapters/aws/deployer-event';
import { internalKeys } from '../../adapters/aws/internal-keys';
import { AwsRuntime, type EnvironmentSynthesizer } from '../../adapters/aws/runtime/aws-runtime';
import type { PlatformRefs } from '../../adapters/aws/runtime/environment-description';
import { secretsManagerKeys } from '../../adapters/aws/secrets-manager-keys';
import { SchedulerReaperSchedules } from '../../adapters/aws/services/reaper-schedules';
import { EcsServiceFleet } from '../../adapters/aws/services/service-fleet';
import { parseServiceRefs } from '../../adapters/aws/services/service-refs';
import { ServiceStarter } from '../../adapters/aws/services/start-services';
import { StepFunctionsDeployer } from '../../adapters/aws/step-functions-deployer';
import { randomIds, systemClock } from '../../adapters/clock-and-ids';
import { DynamoDbStore } from '../../adapters/dynamodb/dynamodb-store';
import type { CoreContext } from '../../core/context';
import { abandonDeployment } from '../../core/deployments/deploy-release';
import { advanceDeployment } from '../../core/deployments/run-deployment';
import { KintoError } from '../../core/errors';
import { carryOutJobRun, runScheduledJob } from '../../core/jobs/job-runs';
import type { Builder } from '../../ports/builder';
import type { Clock } from '../../ports/clock';
import { requiredEnv } from '../required-env';
import { SERVICE_SLEEP_ENV } from '../services/service-sleep-env';

/** What the CDK construct (lib/environment-deployer.ts) tells the deployer through its environment. */
export interface DeployerConfig {
  readonly stateTableName: string;
  readonly platformKeySecretArn: string;
  readonly stateMachineArn: string;
  readonly stackRoleArn: string;
  readonly templateBucket: string;
  readonly platform: Omit<PlatformRefs, 'deployerFunctionArn'>;
  /**
   * What the deployer wakes custom services with before a deployment's jobs, as the waker does
   * (lib/service-waker.ts). @default - services are not woken before jobs
   */
  readonly serviceWaking?: ServiceWakingConfig;
}

export interface ServiceWakingConfig {
  /** The reaper schedules' group, the reaper they invoke and the role they invoke it with. */
  readonly scheduleGroup: string;
  readonly reaperFunctionArn: string;
  readonly reaperRoleArn: string;
}

export const readDeployerConfig = (env: NodeJS.ProcessEnv = process.env): DeployerConfig => ({
  stateTableName: requiredEnv('STATE_TABLE_NAME', env),
  platformKeySecretArn: requiredEnv('PLATFORM_KEY_SECRET_ARN', env),
  stateMachineArn: requiredEnv('STATE_MACHINE_ARN', env),
  stackRoleArn: requiredEnv('STACK_ROLE_ARN', env),
  templateBucket: requiredEnv('TEMPLATE_BUCKET', env),
  platform: {
    gatewayFunctionArn: requiredEnv('GATEWAY_FUNCTION_ARN', env),
    authorizerFunctionArn: requiredEnv('AUTHORIZER_FUNCTION_ARN', env),
    logIndexerFunctionArn: requiredEnv('LOG_INDEXER_FUNCTION_ARN', env),
    imageRepositoryArn: requiredEnv('IMAGE_REPOSITORY_ARN', env),
    ...(env.PERMISSIONS_BOUNDARY_ARN ? { permissionsBoundaryArn: env.PERMISSIONS_BOUNDARY_ARN } : {}),
    // Where custom services run (JSON from EnvironmentDeployer); without it they cannot be deployed.
    ...(env.BLOCK_SERVICES ? { services: parseServiceRefs(env.BLOCK_SERVICES) } : {}),
  },
  ...(env[SERVICE_SLEEP_ENV.scheduleGroup]
    ? {
        serviceWaking: {
          scheduleGroup: requiredEnv(SERVICE_SLEEP_ENV.scheduleGroup, env),
          reaperFunctionArn: requiredEnv(SERVICE_SLEEP_ENV.reaperFunctionArn, env),
          reaperRoleArn: requiredEnv(SERVICE_SLEEP_ENV.reaperRoleArn, env),
        },
      }
    : {}),
});

export interface DeployerClients {
  readonly dynamodb: DynamoDBClient;
  readonly secrets: SecretsManagerClient;
  readonly lambda: LambdaClient;
  readonly cloudformation: CloudFormationClient;
  readonly logs: CloudWatchLogsClient;
  readonly s3: S3Client;
  readonly sfn: SFNClient;
  readonly apigateway: ApiGatewayV2Client;
  /** Custom services: woken before a deployment's jobs. */
  readonly ecs: ECSClient;
  readonly scheduler: SchedulerClient;
}

/** The deployer builds nothing: builds belong to the control API and CodeBuild. */
const notHere = () => Promise.reject(new KintoError(500, 'NOT_HERE', 'builds are started and read by the control API, not the deployer'));
const noBuilds: Builder = { start: notHere, readLog: notHere };

/**
 * The deployer Lambda: carries deployments forward for the deployer state machine (one `advance`
 * per state; "check later" becomes the state machine's free Wait), settles a deployment whose
 * execution failed (`abort`), runs manual and scheduled job runs, and shuts down or removes
 * environments' stacks. It is the only part of the platform that synthesizes stacks, and it
 * passes them to CloudFormation with a role of their own (it can pass that role, not act with it).
 */
export function createDeployerHandler(
  config: DeployerConfig,
  clients: DeployerClients,
  synthesize: EnvironmentSynthesizer,
  clock: Clock = systemClock,
) {
  let ctx: CoreContext | undefined;
  let runtime: AwsRuntime | undefined;
  const now = () => clock.now().getTime();
  const build = (functionArn: string) => {
    const keys = secretsManagerKeys(clients.secrets, config.platformKeySecretArn);
    runtime = new AwsRuntime({
      lambda: clients.lambda,
      cloudformation: clients.cloudformation,
      logs: clients.logs,
      apigateway: clients.apigateway,
      internalKey: internalKeys(keys),
      stacks: {
        synthesize,
        platform: { ...config.platform, deployerFunctionArn: functionArn },
        roleArn: config.stackRoleArn,
        s3: clients.s3,
        templateBucket: config.templateBucket,
      },
      ...serviceStarterOf(config, clients, now),
      now,
    });
    ctx = {
      store: new DynamoDbStore({ client: clients.dynamodb, tableName: config.stateTableName }),
      clock,
      ids: randomIds,
      runtime,
      builder: noBuilds,
      deployer: new StepFunctionsDeployer({
        sfn: clients.sfn,
        lambda: clients.lambda,
        stateMachineArn: config.stateMachineArn,
        deployerFunctionName: functionArn,
      }),
      keys,
    };
    return { ctx, runtime };
  };

  return async (input: unknown, context: Pick<Context, 'invokedFunctionArn'>): Promise<AdvanceAnswer> => {
    const event = deployerEvent.parse(input);
    // Without its qualifier: schedules invoke the function itself.
    const { ctx: c, runtime: r } = ctx && runtime ? { ctx, runtime } : build(context.invokedFunctionArn.split(':').slice(0, 7).join(':'));
    switch (event.kind) {
      case 'advance': {
        const next = await advanceDeployment(c, event.envId, event.deploymentId);
        return next.done ? ENDED : { done: false, checkAfterSeconds: Math.min(300, Math.max(1, Math.ceil(next.checkAfterMs / 1000))) };
      }
      case 'abort':
        await abandonDeployment(c, event.envId, event.deploymentId, `the deployer stopped: ${describeFailure(event.error)}`);
        return ENDED;
      case 'job-run':
        await carryOutJobRun(c, event.envId, event.job, event.runId);
        return ENDED;
      case 'cron':
        await runScheduledJob(c, event.envId, event.job);
        return ENDED;
      case 'stop':
        await r.stop(event.envId);
        return ENDED;
      case 'remove':
        await r.remove(event.envId);
        return ENDED;
    }
  };
}

const ENDED: AdvanceAnswer = { done: true, checkAfterSeconds: 0 };

/** Where the platform has custom services: what wakes them before jobs (the waker's steps, with the deployer's clients). */
function serviceStarterOf(config: DeployerConfig, clients: DeployerClients, now: () => number): { serviceStarter?: ServiceStarter } {
  const services = config.platform.services;
  const waking = config.serviceWaking;
  if (!services || !waking) return {};
  return {
    serviceStarter: new ServiceStarter({
      fleet: new EcsServiceFleet(clients.ecs, services.clusterArn),
      schedules: new SchedulerReaperSchedules(clients.scheduler, {
        groupName: waking.scheduleGroup,
        target: { reaperFunctionArn: waking.reaperFunctionArn, roleArn: waking.reaperRoleArn },
      }),
      now,
    }),
  };
}

/** Step Functions' caught error (`{ Error, Cause }`), in one line for the deployment record. */
function describeFailure(error: unknown): string {
  const e = (error ?? {}) as { Error?: unknown; Cause?: unknown };
  let cause = typeof e.Cause === 'string' ? e.Cause : '';
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: unknown };
    if (typeof parsed.errorMessage === 'string') cause = parsed.errorMessage;
  } catch {
    /* a plain message */
  }
  const name = typeof e.Error === 'string' ? e.Error : 'unknown error';
  return (cause ? `${name}: ${cause}` : name).slice(0, 500);
}

let deployer: ReturnType<typeof createDeployerHandler> | undefined;

/** Lambda entry point: invoked by the deployer state machine, the control API and EventBridge Scheduler. */
export const handler = async (event: unknown, context: Context) => {
  deployer ??= createDeployerHandler(
    readDeployerConfig(),
    {
      dynamodb: new DynamoDBClient({}),
      secrets: new SecretsManagerClient({}),
      lambda: new LambdaClient({}),
      cloudformation: new CloudFormationClient({}),
      logs: new CloudWatchLogsClient({}),
      s3: new S3Client({}),
      sfn: new SFNClient({}),
      apigateway: new ApiGatewayV2Client({}),
      ecs: new ECSClient({}),
      scheduler: new SchedulerClient({}),
    },
    synthesizeEnvironment,
  );
  return deployer(event, context);
};

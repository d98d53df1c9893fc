import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { CodeBuildClient } from '@aws-sdk/client-codebuild';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SFNClient } from '@aws-sdk/client-sfn';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { AwsRuntime } from '../adapters/aws/runtime/aws-runtime';
import { CodeBuildBuilder } from '../adapters/aws/codebuild-builder';
import { DynamoDbLogStore } from '../adapters/dynamodb/dynamodb-log-store';
import { DynamoDbStore } from '../adapters/dynamodb/dynamodb-store';
import { secretValue } from '../adapters/aws/secret-value';
import { secretsManagerKeys } from '../adapters/aws/secrets-manager-keys';
import { internalKeys } from '../adapters/aws/internal-keys';
import { ServiceDataClient } from '../adapters/aws/services/service-data-client';
import { StepFunctionsDeployer } from '../adapters/aws/step-functions-deployer';
import { randomIds, systemClock } from '../adapters/clock-and-ids';
import type { CoreContext } from '../core/context';
import { createApiHandler, type ApiHandler } from './api/create-api-handler';
import type { HttpResult } from './http/response';
import { requiredEnv } from './required-env';

/** What the CDK stack tells the `api` Lambda, through its environment. */
export interface AwsApiConfig {
  readonly stateTableName: string;
  readonly adminTokenSecretArn: string;
  /** The platform key (client secrets and tokens); see `secrets-manager-keys.ts`. */
  readonly platformKeySecretArn: string;
  readonly buildProjectName: string;
  readonly buildLogGroupName: string;
  /** The logs table (logs and metrics routes); without it those routes answer 503. */
  readonly logsTableName?: string;
  /** The deployer state machine (deployments) and Lambda (job runs, shut-downs, removals). */
  readonly deployerStateMachineArn: string;
  readonly deployerFunctionName: string;
  /** Names and deletes deleted environments' custom services' data on EFS (lib/service-data-function.ts). */
  readonly serviceDataFunctionName?: string;
}

export interface AwsApiClients {
  readonly dynamodb: DynamoDBClient;
  readonly secrets: SecretsManagerClient;
  readonly codebuild: CodeBuildClient;
  readonly logs: CloudWatchLogsClient;
  readonly lambda: LambdaClient;
  readonly cloudformation: CloudFormationClient;
  readonly sfn: SFNClient;
}

export const readAwsApiConfig = (env: NodeJS.ProcessEnv = process.env): AwsApiConfig => ({
  stateTableName: requiredEnv('STATE_TABLE_NAME', env),
  adminTokenSecretArn: requiredEnv('ADMIN_TOKEN_SECRET_ARN', env),
  platformKeySecretArn: requiredEnv('PLATFORM_KEY_SECRET_ARN', env),
  buildProjectName: requiredEnv('BUILD_PROJECT_NAME', env),
  buildLogGroupName: requiredEnv('BUILD_LOG_GROUP_NAME', env),
  ...(env.LOGS_TABLE_NAME ? { logsTableName: env.LOGS_TABLE_NAME } : {}),
  deployerStateMachineArn: requiredEnv('DEPLOYER_STATE_MACHINE_ARN', env),
  deployerFunctionName: requiredEnv('DEPLOYER_FUNCTION_NAME', env),
  ...(env.SERVICE_DATA_FUNCTION_NAME ? { serviceDataFunctionName: env.SERVICE_DATA_FUNCTION_NAME } : {}),
});

/**
 * The control API on AWS: the same handler as the local platform, with the AWS adapters: the
 * state table, the admin token from Secrets Manager (cached for a few minutes), the platform key
 * from Secrets Manager (client credentials), CodeBuild for builds, the logs table (when the stack
 * names one), and deployments handed to the deployer state machine (the API answers 202 at once).
 * Its runtime reads (job logs, compare) but never writes: stacks and functions change only in the
 * deployer, so shut-downs and deletions are handed to it too. A deleted environment's custom
 * services' data is named, or deleted when asked, by the service-data function (it mounts EFS).
 */
export function createAwsApiHandler(config: AwsApiConfig, clients: AwsApiClients): ApiHandler {
  const logs = config.logsTableName ? new DynamoDbLogStore({ client: clients.dynamodb, tableName: config.logsTableName }) : undefined;
  const deployer = new StepFunctionsDeployer({
    sfn: clients.sfn,
    lambda: clients.lambda,
    stateMachineArn: config.deployerStateMachineArn,
    deployerFunctionName: config.deployerFunctionName,
  });
  const keys = secretsManagerKeys(clients.secrets, config.platformKeySecretArn);
  const ctx: CoreContext = {
    store: new DynamoDbStore({ client: clients.dynamodb, tableName: config.stateTableName }),
    clock: systemClock,
    ids: randomIds,
    runtime: new AwsRuntime({
      lambda: clients.lambda,
      cloudformation: clients.cloudformation,
      logs: clients.logs,
      internalKey: internalKeys(keys),
      delegate: (request) => deployer.invoke(request),
      ...(config.serviceDataFunctionName ? { serviceData: new ServiceDataClient(clients.lambda, config.serviceDataFunctionName) } : {}),
    }),
    deployer,
    builder: new CodeBuildBuilder({
      codebuild: clients.codebuild,
      logs: clients.logs,
      projectName: config.buildProjectName,
      logGroupName: config.buildLogGroupName,
    }),
    keys,
  };
  return createApiHandler({
    context: async () => ctx,
    adminToken: secretValue(clients.secrets, config.adminTokenSecretArn),
    logs: () => logs,
  });
}

let api: ApiHandler | undefined;

/** Lambda entry point (API Gateway HTTP API, payload 2.0). Clients and config are set up on the first request. */
export const handler = async (event: APIGatewayProxyEventV2, context: Context): Promise<HttpResult> => {
  api ??= createAwsApiHandler(readAwsApiConfig(), {
    dynamodb: new DynamoDBClient({}),
    secrets: new SecretsManagerClient({}),
    codebuild: new CodeBuildClient({}),
    logs: new CloudWatchLogsClient({}),
    lambda: new LambdaClient({}),
    cloudformation: new CloudFormationClient({}),
    sfn: new SFNClient({}),
  });
  return api(event, context);
};

import { Aws, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as codebuild from 'aws-cdk-lib/aws-codebuild';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { LOGS_TABLE } from '../lambdas/adapters/dynamodb/logs-table';
import { handlerEntry, KintoFunction } from './kinto-function';
import type { EnvironmentDeployer } from './environment-deployer';
import type { StateTable } from './state-table';

export interface ControlApiThrottle {
  /** Steady-state requests per second across the API. */
  readonly rateLimit: number;
  /** Requests that may arrive at once above the steady rate. */
  readonly burstLimit: number;
}

export interface ControlApiProps {
  readonly stateTable: StateTable;
  /** The admin token callers must present (read by the function, cached for 5 minutes). */
  readonly adminToken: secretsmanager.ISecret;
  /** The platform key, for issuing and rotating client credentials. */
  readonly platformKey: secretsmanager.ISecret;
  /** The build project the API starts builds with. */
  readonly buildProject: codebuild.IProject;
  /** The log group build logs are written to (the API reads them back). */
  readonly buildLogGroup: logs.ILogGroup;
  /**
   * Throttling of the `$default` stage: the control API serves a team's admins and CI, not the
   * world, so a low limit bounds the cost of a leaked URL being hammered.
   * @default { rateLimit: 50, burstLimit: 100 }
   */
  readonly throttle?: ControlApiThrottle;
  /**
   * Origins allowed to call the API from a browser (the console's URL).
   * @default - no CORS: only same-origin and non-browser callers
   */
  readonly corsOrigins?: string[];
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /**
   * The logs table, for the logs and metrics routes (read only: the log-indexer writes it).
   * @default - no logs table: those routes answer 503
   */
  readonly logsTable?: dynamodb.ITable;
  /** Where deployments, job runs, shut-downs and deletions are handed (the API only records them). */
  readonly deployer: Pick<EnvironmentDeployer, 'stateMachine' | 'function'>;
  /**
   * Names, or deletes when asked, a deleted environment's custom services' data (BlockCluster).
   * @default - deletions name no data, and refuse to delete it
   */
  readonly serviceData?: lambda.IFunction;
}

/**
 * The control API: an HTTP API whose every route goes to one `api` Lambda (the same handler the
 * local platform serves), with access logs and throttling on its stage. The function may touch
 * only what it uses: the state table's items and `byId` index, the admin token and platform key,
 * StartBuild on the build project and the build log group.
 */
export class ControlApi extends Construct {
  public readonly httpApi: apigwv2.HttpApi;
  public readonly stage: apigwv2.HttpStage;
  public readonly handler: KintoFunction;
  public readonly accessLogs: logs.LogGroup;
  /** The API's base URL (`https://<id>.execute-api.<region>.amazonaws.com`). */
  public readonly url: string;

  constructor(scope: Construct, id: string, props: ControlApiProps) {
    super(scope, id);
    const throttle = props.throttle ?? { rateLimit: 50, burstLimit: 100 };
    if (!(throttle.rateLimit > 0) || !Number.isInteger(throttle.burstLimit) || throttle.burstLimit < 1) {
      throw new Error(`ControlApi ${id}: throttle needs rateLimit > 0 and a whole burstLimit >= 1, got ${JSON.stringify(throttle)}.`);
    }

    this.handler = new KintoFunction(this, 'Handler', {
      entry: handlerEntry('api'),
      description: 'Kinto control API (projects, blocks, builds, environments, releases, deployments)',
      memorySize: 512,
      // API Gateway gives up after 30 s; stop just before it so the error is ours, not a 503.
      timeout: Duration.seconds(29),
      logRetention: props.logRetention,
      environment: {
        STATE_TABLE_NAME: props.stateTable.table.tableName,
        ADMIN_TOKEN_SECRET_ARN: props.adminToken.secretArn,
        PLATFORM_KEY_SECRET_ARN: props.platformKey.secretArn,
        BUILD_PROJECT_NAME: props.buildProject.projectName,
        BUILD_LOG_GROUP_NAME: props.buildLogGroup.logGroupName,
      },
    });
    const fn = this.handler.function;
    // Exactly the calls DynamoDbStore makes; no Scan, no UpdateItem, and only the `byId` index.
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'StateTableItems',
        actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:DeleteItem', 'dynamodb:Query', 'dynamodb:BatchWriteItem'],
        resources: [props.stateTable.table.tableArn],
      }),
    );
    fn.addToRolePolicy(
      new iam.PolicyStatement({ sid: 'StateTableById', actions: ['dynamodb:Query'], resources: [props.stateTable.byIdIndexArn] }),
    );
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'PlatformSecrets',
        actions: ['secretsmanager:GetSecretValue'],
        resources: [props.adminToken.secretArn, props.platformKey.secretArn],
      }),
    );
    fn.addToRolePolicy(
      new iam.PolicyStatement({ sid: 'StartBuilds', actions: ['codebuild:StartBuild'], resources: [props.buildProject.projectArn] }),
    );
    if (props.logsTable) {
      fn.addEnvironment('LOGS_TABLE_NAME', props.logsTable.tableName);
      const tableArn = props.logsTable.tableArn;
      fn.addToRolePolicy(
        new iam.PolicyStatement({
          sid: 'LogsTableRead',
          actions: ['dynamodb:Query'],
          resources: [tableArn, `${tableArn}/index/${LOGS_TABLE.byEnvIndex.name}`, `${tableArn}/index/${LOGS_TABLE.byBlockIndex.name}`],
        }),
      );
    }
    fn.addEnvironment('DEPLOYER_STATE_MACHINE_ARN', props.deployer.stateMachine.stateMachineArn);
    fn.addEnvironment('DEPLOYER_FUNCTION_NAME', props.deployer.function.functionArn);
    props.deployer.stateMachine.grantStartExecution(fn);
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'InvokeDeployer',
        actions: ['lambda:InvokeFunction'],
        resources: [props.deployer.function.functionArn],
      }),
    );
    if (props.serviceData) {
      fn.addEnvironment('SERVICE_DATA_FUNCTION_NAME', props.serviceData.functionArn);
      fn.addToRolePolicy(
        new iam.PolicyStatement({ sid: 'ServiceData', actions: ['lambda:InvokeFunction'], resources: [props.serviceData.functionArn] }),
      );
      // Kept data is deleted only once a deleted environment's stack is gone (its tasks may run until then).
      fn.addToRolePolicy(
        new iam.PolicyStatement({
          sid: 'EnvironmentStackExists',
          actions: ['cloudformation:DescribeStacks'],
          resources: [`arn:${Aws.PARTITION}:cloudformation:${Aws.REGION}:${Aws.ACCOUNT_ID}:stack/kinto-env-*/*`],
        }),
      );
      Validations.of(this.handler.role).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:cloudformation:<AWS::Region>:<AWS::AccountId>:stack/kinto-env-*/*]',
        reason:
          "Environment stacks are made at run time as kinto-env-<environment id>; DescribeStacks only, to tell whether a deleted environment's stack is gone before its kept data is deleted.",
      });
    }
    // Job runs' output, from the environments' block log groups.
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'ReadJobOutput',
        actions: ['logs:FilterLogEvents'],
        resources: [`arn:${Aws.PARTITION}:logs:${Aws.REGION}:${Aws.ACCOUNT_ID}:log-group:/kinto/env/*`],
      }),
    );
    Validations.of(this.handler.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:/kinto/env/*]',
      reason:
        "Job runs' output is read from environments' block log groups, made at run time under /kinto/env/<environment id>/; FilterLogEvents only.",
    });
    // The log group ARN ends in ":*", which covers its streams (GetLogEvents acts on a stream).
    props.buildLogGroup.grant(fn, 'logs:DescribeLogStreams', 'logs:GetLogEvents');

    this.httpApi = new apigwv2.HttpApi(this, 'HttpApi', {
      apiName: `${Stack.of(this).stackName}-control`,
      description: 'Kinto control API',
      createDefaultStage: false,
      // One catch-all route: the handler routes, answers 404/405 and checks the admin token.
      defaultIntegration: new HttpLambdaIntegration('Handler', fn, { payloadFormatVersion: apigwv2.PayloadFormatVersion.VERSION_2_0 }),
      ...(props.corsOrigins?.length
        ? {
            corsPreflight: {
              allowOrigins: props.corsOrigins,
              allowMethods: [apigwv2.CorsHttpMethod.ANY],
              allowHeaders: ['authorization', 'content-type', 'if-match'],
              // The console reads where a log continues and whether a build or run ended from these.
              exposeHeaders: ['etag', 'location', 'kinto-log-next-offset', 'kinto-build-status', 'kinto-run-status'],
              maxAge: Duration.hours(1),
            },
          }
        : {}),
    });

    this.accessLogs = new logs.LogGroup(this, 'AccessLogs', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.stage = new apigwv2.HttpStage(this, 'DefaultStage', {
      httpApi: this.httpApi,
      stageName: '$default',
      autoDeploy: true,
      throttle,
      accessLogSettings: {
        destination: new apigwv2.LogGroupLogDestination(this.accessLogs),
        format: AccessLogFormat.custom(
          JSON.stringify({
            requestId: '$context.requestId',
            time: '$context.requestTime',
            ip: '$context.identity.sourceIp',
            method: '$context.httpMethod',
            path: '$context.path',
            status: '$context.status',
            latencyMs: '$context.responseLatency',
            integrationLatencyMs: '$context.integrationLatency',
            integrationError: '$context.integrationErrorMessage',
            responseLength: '$context.responseLength',
            userAgent: '$context.identity.userAgent',
          }),
        ),
      },
    });
    this.url = this.httpApi.apiEndpoint;

    Validations.of(this.httpApi).acknowledge({
      id: 'AwsSolutions-APIG4',
      reason:
        'The single $default route has no API Gateway authorizer on purpose: the api Lambda checks "Authorization: Bearer <admin token>" ' +
        '(constant-time compare against the Secrets Manager value) on every route except GET /v1/openapi.json; see lambdas/handlers/http/admin-auth.ts.',
    });
  }
}

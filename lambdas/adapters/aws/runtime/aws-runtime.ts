import {
  CloudFormationClient,
  ContinueUpdateRollbackCommand,
  CreateStackCommand,
  DeleteStackCommand,
  DescribeStackEventsCommand,
  DescribeStacksCommand,
  UpdateStackCommand,
  type Stack,
  type StackEvent,
} from '@aws-sdk/client-cloudformation';
import { ApiGatewayV2Client, GetStageCommand, UpdateStageCommand } from '@aws-sdk/client-apigatewayv2';
import { CloudWatchLogsClient, FilterLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import {
  GetAliasCommand,
  GetFunctionCommand,
  InvokeCommand,
  LambdaClient,
  ListVersionsByFunctionCommand,
  PublishVersionCommand,
  ResourceNotFoundException,
  UpdateAliasCommand,
  UpdateFunctionCodeCommand,
  UpdateFunctionConfigurationCommand,
} from '@aws-sdk/client-lambda';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { KintoError } from '../../../core/errors';
import { blockLogGroupName } from '../../../core/logs/log-groups';
import type { Environment, JobRun } from '../../../core/model';
import type {
  Activated,
  DeploymentPlan,
  JobLogChunk,
  JobOutcome,
  PlannedBlock,
  PreparedBlock,
  Runtime,
  ServiceData,
  StepProgress,
} from '../../../ports/runtime';
import type { ServiceDataClient } from '../services/service-data-client';
import { servicesBeforeJobs } from '../services/services-before-jobs';
import type { ServicesStart } from '../services/start-services';
import {
  functionNameOf,
  LIVE_ALIAS,
  stackNameOf,
  stackOutputs,
  type EnvironmentDescription,
  type PlatformRefs,
} from './environment-description';
import { accessLogFormatOf } from './access-log-format-of';
import { describeEnvironment, desiredFunction, FUNCTION_TYPES, type DesiredFunction } from './environment-plan';

/** Turns an environment's description into its CloudFormation template (lib/synthesize-environment.ts). */
export type EnvironmentSynthesizer = (
  description: EnvironmentDescription,
  options: { deploymentId: string; shape: string },
) => { template: Record<string, unknown>; parameters: string[] };

export interface AwsRuntimeOptions {
  readonly lambda: LambdaClient;
  readonly cloudformation: CloudFormationClient;
  readonly logs: CloudWatchLogsClient;
  /** Sets the access-log format (release, commits) when a deployment only moves aliases. */
  readonly apigateway?: ApiGatewayV2Client;
  /** The environment's internal entry key (derived from the platform key). */
  readonly internalKey: (envId: string) => Promise<string>;
  /** Present where stacks are made (the deployer Lambda); elsewhere stop/remove go to `delegate`. */
  readonly stacks?: StackMaking;
  /** Hands a stop or removal to the deployer Lambda (from the control API, which cannot synthesize). */
  readonly delegate?: (request: { kind: 'stop' | 'remove'; envId: string }) => Promise<void>;
  /**
   * Names and deletes custom services' data on EFS (the service-data function), where environments
   * are deleted (the control API). @default - no data is named or deleted
   */
  readonly serviceData?: Pick<ServiceDataClient, 'list' | 'remove' | 'environments'>;
  /**
   * Wakes the environment's custom services and says which run (ServiceStarter), where deployments
   * are carried out: a deployment with jobs then ends its preparation with them running.
   * @default - services are not woken before jobs
   */
  readonly serviceStarter?: { start(envId: string): Promise<ServicesStart>; keepAwake?(envId: string): Promise<void> };
  /** How often a deployment waiting for custom services asks again. @default 5000 */
  readonly servicePollMs?: number;
  /** How long it waits for them before it fails. @default 5 minutes */
  readonly serviceStartTimeoutMs?: number;
  /** How often a running job's custom services are told they are in use. @default 20000 */
  readonly serviceKeepAwakeMs?: number;
  /** @default Date.now */
  readonly now?: () => number;
  /** @default 10000 */
  readonly stackPollMs?: number;
  /** @default 2000 */
  readonly functionPollMs?: number;
}

/** What making and changing environment stacks takes (the deployer has it, the control API not). */
export interface StackMaking {
  readonly synthesize: EnvironmentSynthesizer;
  readonly platform: PlatformRefs;
  /** The role CloudFormation acts with for environment stacks (the deployer may only pass it). */
  readonly roleArn: string;
  /** Templates over CloudFormation's 51,200-byte inline limit go here first. */
  readonly s3: S3Client;
  readonly templateBucket: string;
}

/** What `prepare` keeps on the deployment record for one block. */
export interface PreparedFunction extends PreparedBlock {
  /** The published version serving this deployment's code and configuration (functions only). */
  readonly version?: string;
  readonly hash: string;
}

const IN_PROGRESS = /_IN_PROGRESS$/;
const TRANSIENT = new Set([
  'TooManyRequestsException',
  'ThrottlingException',
  'Throttling',
  'ResourceConflictException',
  'ServiceException',
  'InternalFailure',
  'ServiceUnavailable',
]);
const INLINE_TEMPLATE_BYTES = 51_200;

/**
 * The Runtime port on AWS. One CloudFormation stack per environment holds its infrastructure
 * (KintoEnvironmentStack: HTTP API, routes, authorizers, functions and their `live` aliases, log
 * groups and subscriptions, schedules, dashboard); every website, microservice and job is a Lambda
 * container function, and a deployment switches by moving aliases.
 *
 * - `prepare` (per block): first the infrastructure: when the environment's shape changed (blocks,
 *   visibility, passwords, schedules: the stack's `KintoShape` output) or there is no stack yet, one
 *   stack update, asked for once per deployment (its id is the request token) with every existing
 *   alias at the version it serves, so that nothing already served changes code; new functions
 *   exist from then on, so pre-deploy jobs can run. Then the block's function is made to hold the
 *   deployment's image and configuration and a version is published, or the version already
 *   published for them is found (its description names their hash): a rollback to a release whose
 *   versions exist publishes nothing. In a deployment with jobs, the preparation ends with the
 *   environment's custom services running (services-before-jobs.ts): jobs connect to them at once.
 * - `activate`: the aliases move to the prepared versions (seconds), and the stage's access-log
 *   format names the release.
 * A stack stuck in UPDATE_ROLLBACK_FAILED is continued, and the deployment fails with the stack's
 * reason. Every step reads before it writes: a re-run where nothing changed writes nothing.
 */
export class AwsRuntime implements Runtime {
  constructor(private readonly o: AwsRuntimeOptions) {}

  private get stacks(): StackMaking {
    if (!this.o.stacks) throw new KintoError(500, 'NOT_HERE', 'deployments are carried out by the deployer, not here');
    return this.o.stacks;
  }

  private get role(): { RoleARN?: string } {
    return this.o.stacks ? { RoleARN: this.o.stacks.roleArn } : {};
  }

  async prepare(plan: DeploymentPlan, planned: PlannedBlock, previous?: PreparedBlock): Promise<StepProgress<PreparedFunction>> {
    return this.laterWhenTransient(() => this.prepareBlock(plan, planned, previous));
  }

  async activate(plan: DeploymentPlan, prepared: Readonly<Record<string, PreparedBlock>>): Promise<StepProgress<Activated>> {
    return this.laterWhenTransient(() => this.activateAll(plan, prepared));
  }

  private async prepareBlock(
    plan: DeploymentPlan,
    planned: PlannedBlock,
    previous?: PreparedBlock,
  ): Promise<StepProgress<PreparedFunction>> {
    const infrastructure = await this.ensureStack(plan);
    if (!infrastructure.done) return infrastructure as StepProgress<never>;
    const made = await this.prepareOwn(plan, planned, infrastructure.result.gatewayUrl, previous);
    if (!made.done || !this.o.serviceStarter) return made;
    // Then, in a deployment with jobs, the custom services run before its preparation ends.
    return servicesBeforeJobs(plan, planned.block.name, previous, made.result, {
      starter: this.o.serviceStarter,
      now: this.o.now ?? Date.now,
      pollMs: this.o.servicePollMs,
      timeoutMs: this.o.serviceStartTimeoutMs,
    });
  }

  /** The block's own part: its function's version (a custom service runs from the stack's task definition). */
  private async prepareOwn(
    plan: DeploymentPlan,
    planned: PlannedBlock,
    gatewayUrl: string,
    previous?: PreparedBlock,
  ): Promise<StepProgress<PreparedFunction>> {
    const { block } = planned;
    // A custom service runs on Fargate from the stack's task definition (its image is in the shape).
    if (!FUNCTION_TYPES.has(block.type)) return { done: true, result: { hash: planned.build?.artifact ?? '' } };
    const want = desiredFunction(plan, planned, { gatewayUrl, internalKey: await this.o.internalKey(plan.environment.id) });
    if ((previous as PreparedFunction | undefined)?.hash === want.hash && previous?.version)
      return { done: true, result: previous as PreparedFunction };
    const current = await this.getFunction(want.functionName);
    if (!current) throw new KintoError(500, 'NO_FUNCTION', `the environment's stack has no function for block "${block.name}"`);
    const published = await this.findVersion(want);
    if (published) return { done: true, result: { version: published, hash: want.hash } };
    return this.converge(want, current);
  }

  private async activateAll(plan: DeploymentPlan, prepared: Readonly<Record<string, PreparedBlock>>): Promise<StepProgress<Activated>> {
    const infrastructure = await this.ensureStack(plan);
    if (!infrastructure.done) return infrastructure;
    for (const planned of plan.blocks) {
      if (!FUNCTION_TYPES.has(planned.block.type)) continue;
      const version = (prepared as Record<string, PreparedFunction>)[planned.block.name]?.version;
      if (!version) throw new KintoError(500, 'NOT_PREPARED', `block "${planned.block.name}" has no prepared version`);
      await this.moveAlias(functionNameOf(plan.environment.id, planned.block.name), version);
    }
    await this.setAccessLogFormat(infrastructure.result.gatewayUrl, infrastructure.result.accessLogFormat);
    return { done: true, result: { gatewayUrl: infrastructure.result.gatewayUrl } };
  }

  /**
   * The environment's stack in this deployment's shape: done when it already is (nothing written),
   * else one stack update for this deployment, waited for ("check later"), or the reason it failed.
   */
  private async ensureStack(plan: DeploymentPlan): Promise<StepProgress<{ gatewayUrl: string; accessLogFormat: string }>> {
    const stackName = stackNameOf(plan.environment.id);
    const internalKey = await this.o.internalKey(plan.environment.id);
    const { description, shape } = describeEnvironment(plan, this.stacks.platform, { internalKey, versions: {} });
    const stack = await this.describeStack(stackName);
    if (stack && IN_PROGRESS.test(stack.StackStatus ?? '')) return this.later(`CloudFormation: ${stack.StackStatus}`);
    if (stack?.StackStatus === 'UPDATE_ROLLBACK_FAILED') {
      await this.o.cloudformation.send(new ContinueUpdateRollbackCommand({ StackName: stackName, ...this.role }));
      throw new KintoError(
        409,
        'STACK_UPDATE_FAILED',
        `the environment's stack ${stackName} was stuck in UPDATE_ROLLBACK_FAILED (${await this.failureReason(stackName)}); its rollback was continued: deploy again once it is done`,
      );
    }
    if (stack && (stack.StackStatus === 'ROLLBACK_COMPLETE' || stack.StackStatus === 'ROLLBACK_FAILED')) {
      // A first creation that failed leaves a stack that can only be deleted.
      await this.o.cloudformation.send(new DeleteStackCommand({ StackName: stackName, ...this.role }));
      throw new KintoError(
        409,
        'STACK_CREATE_FAILED',
        `creating the environment's stack failed (${await this.failureReason(stackName)}); it is being deleted: deploy again`,
      );
    }
    const outputs = outputsOf(stack);
    const gatewayUrl = outputs[stackOutputs.gatewayUrl];
    if (stack && gatewayUrl && outputs[stackOutputs.shape] === shape) {
      return { done: true, result: { gatewayUrl, accessLogFormat: accessLogFormatOf(description) } };
    }
    if (stack?.StackStatus === 'UPDATE_ROLLBACK_COMPLETE' && (await this.requestedBy(stackName, plan.deployment.id))) {
      throw new KintoError(
        409,
        'STACK_UPDATE_FAILED',
        `the environment's stack update failed and was rolled back: ${await this.failureReason(stackName)}`,
      );
    }
    // Existing aliases keep the versions they serve: code changes only at the switch.
    const versions: Record<string, string> = {};
    for (const { block } of plan.blocks) {
      if (!FUNCTION_TYPES.has(block.type)) continue;
      const served = await this.servedVersion(functionNameOf(plan.environment.id, block.name));
      if (served) versions[block.name] = served;
    }
    const { parameters } = describeEnvironment(plan, this.stacks.platform, { internalKey, versions });
    await this.updateStack(stackName, stack !== undefined, description, parameters, { deploymentId: plan.deployment.id, shape });
    return this.later('CloudFormation: update requested');
  }

  async runJob(plan: DeploymentPlan, job: PlannedBlock, run: JobRun): Promise<JobOutcome> {
    return this.keepingServicesAwake(plan, () => this.invokeJob(job, plan, run));
  }

  /**
   * A job's connections to a custom service are not traffic the reaper sees (it counts from the
   * job's START line), so a job running longer than a service's idle time would lose the service
   * under it: while the job runs, its services are kept awake (traffic recorded), from its start
   * and every 20 s, well within the shortest idle time (60 s) the reaper acts on.
   */
  private async keepingServicesAwake<T>(plan: DeploymentPlan, work: () => Promise<T>): Promise<T> {
    const starter = this.o.serviceStarter;
    if (!starter?.keepAwake || !plan.blocks.some((b) => b.block.type === 'custom-service')) return work();
    const envId = plan.environment.id;
    const keep = () =>
      // A failed call is retried at the next tick; the job's own outcome is what the step reports.
      void starter.keepAwake!(envId).catch((e: unknown) => console.warn(`keeping custom services of ${envId} awake failed: ${String(e)}`));
    keep();
    const timer = setInterval(keep, this.o.serviceKeepAwakeMs ?? 20_000);
    try {
      return await work();
    } finally {
      clearInterval(timer);
    }
  }

  private async invokeJob(job: PlannedBlock, plan: DeploymentPlan, run: JobRun): Promise<JobOutcome> {
    const out = await this.o.lambda.send(
      new InvokeCommand({
        FunctionName: functionNameOf(plan.environment.id, job.block.name),
        Qualifier: LIVE_ALIAS,
        InvocationType: 'RequestResponse',
        Payload: Buffer.from(JSON.stringify({ runId: run.id, trigger: run.trigger })),
      }),
    );
    const text = out.Payload ? Buffer.from(out.Payload).toString('utf8') : '';
    let payload: { exitCode?: number; errorType?: string; errorMessage?: string } = {};
    try {
      payload = JSON.parse(text || '{}') as typeof payload;
    } catch {
      /* not JSON: the function's own failure */
    }
    if (out.FunctionError) {
      const timedOut = payload.errorType === 'Sandbox.Timedout' || /timed out/i.test(payload.errorMessage ?? '');
      return { status: timedOut ? 'timed-out' : 'failed', exitCode: null, reason: payload.errorMessage ?? out.FunctionError };
    }
    const exitCode = typeof payload.exitCode === 'number' ? payload.exitCode : null;
    // The job runner stopped the job before the function's deadline, and says so.
    if ((payload as { timedOut?: unknown }).timedOut === true)
      return { status: 'timed-out', exitCode, reason: 'the job ran into its timeout' };
    return exitCode === 0
      ? { status: 'succeeded', exitCode }
      : { status: 'failed', exitCode, reason: `the job exited with code ${exitCode}` };
  }

  async readJobLog(run: JobRun, offset: number): Promise<JobLogChunk> {
    const lines: string[] = [];
    let nextToken: string | undefined;
    do {
      const page = await this.o.logs.send(
        new FilterLogEventsCommand({
          logGroupName: blockLogGroupName(run.envId, run.job),
          filterPattern: `"${run.id}"`,
          startTime: Date.parse(run.startedAt) - 1000,
          ...(nextToken ? { nextToken } : {}),
        }),
      );
      for (const e of page.events ?? []) lines.push((e.message ?? '').replace(`[${run.id}] `, '').replace(/\n$/, ''));
      nextToken = page.nextToken;
    } while (nextToken && lines.length < 10_000);
    const text = lines.length ? `${lines.join('\n')}\n` : '';
    const bytes = Buffer.from(text, 'utf8');
    const chunk = bytes.subarray(offset, offset + 256 * 1024);
    return { text: chunk.toString('utf8'), nextOffset: offset + chunk.length };
  }

  /** Shut down: the stack keeps the gateway (answering 503) and the log groups, nothing that runs. */
  async stop(envId: string): Promise<void> {
    if (!this.o.stacks) return this.o.delegate?.({ kind: 'stop', envId });
    const stackName = stackNameOf(envId);
    const stack = await this.describeStack(stackName);
    if (!stack || stack.StackStatus === 'DELETE_COMPLETE') return;
    const description: EnvironmentDescription = { ...descriptionOf(stack, envId, this.stacks.platform), shutDown: true, blocks: [] };
    const internalKey = await this.o.internalKey(envId);
    const shape = `shut-down:${envId}`;
    if (outputsOf(stack)[stackOutputs.shape] === shape) return;
    await this.updateStack(stackName, true, description, { InternalKey: internalKey }, { deploymentId: `shutdown-${Date.now()}`, shape });
  }

  /** The environment is deleted: so is its stack (functions, API, schedules, log groups). */
  async remove(envId: string): Promise<void> {
    if (!this.o.stacks) return this.o.delegate?.({ kind: 'remove', envId });
    const stackName = stackNameOf(envId);
    if (!(await this.describeStack(stackName))) return;
    await this.o.cloudformation.send(new DeleteStackCommand({ StackName: stackName, ...this.role }));
  }

  /**
   * The data the environment's custom services left on the platform's file system (its folders
   * `/kinto/<envId>/<block>`, as `efs://<file system id>/kinto/<envId>/<block>`). Deleting the
   * stack deletes only the access points, pointers: the folders stay until `deleteData`.
   */
  async dataOf(envId: string): Promise<readonly ServiceData[]> {
    return this.o.serviceData ? this.o.serviceData.list(envId) : [];
  }

  /** Deletes those folders and returns what was there; a failure is an error, never an empty answer. */
  async deleteData(envId: string): Promise<readonly ServiceData[]> {
    if (!this.o.serviceData) {
      throw new KintoError(
        501,
        'SERVICE_DATA_UNAVAILABLE',
        `this platform cannot delete custom services' data (no service-data function): anything environment ${envId} kept is in /kinto/${envId}/ of the platform's file system`,
      );
    }
    return this.o.serviceData.remove(envId);
  }

  /** Every environment with a folder on the file system (GET /v1/kept-data finds deleted ones' among them). */
  async dataEnvironments(): Promise<readonly string[]> {
    return this.o.serviceData ? this.o.serviceData.environments() : [];
  }

  /** Its stack exists (deleting takes minutes: its functions and tasks may run until it is gone). */
  async holds(envId: string): Promise<boolean> {
    const stack = await this.describeStack(stackNameOf(envId));
    return stack !== undefined && stack.StackStatus !== 'DELETE_COMPLETE';
  }

  gatewayUrl(env: Environment): string | undefined {
    return env.gatewayUrl;
  }

  /** Makes `$LATEST` hold the wanted code and configuration, one update at a time, then publishes it. */
  private async converge(want: DesiredFunction, current: FunctionState): Promise<StepProgress<PreparedFunction>> {
    if (current.updating) return this.later(`Lambda: updating ${want.functionName}`);
    if (current.imageUri !== want.image) {
      await this.o.lambda.send(new UpdateFunctionCodeCommand({ FunctionName: want.functionName, ImageUri: want.image }));
      return this.later(`Lambda: new code for ${want.functionName}`, this.o.functionPollMs ?? 2000);
    }
    if (
      current.memoryMb !== want.memoryMb ||
      current.timeoutSeconds !== want.timeoutSeconds ||
      !sameVariables(current.environment, want.environment)
    ) {
      await this.o.lambda.send(
        new UpdateFunctionConfigurationCommand({
          FunctionName: want.functionName,
          MemorySize: want.memoryMb,
          Timeout: want.timeoutSeconds,
          Environment: { Variables: { ...want.environment } },
        }),
      );
      return this.later(`Lambda: new configuration for ${want.functionName}`, this.o.functionPollMs ?? 2000);
    }
    const published = await this.o.lambda.send(
      new PublishVersionCommand({
        FunctionName: want.functionName,
        Description: versionDescription(want.hash),
        CodeSha256: current.codeSha256,
      }),
    );
    return { done: true, result: { version: published.Version!, hash: want.hash } };
  }

  private async findVersion(want: DesiredFunction): Promise<string | undefined> {
    let marker: string | undefined;
    do {
      const page = await this.o.lambda.send(
        new ListVersionsByFunctionCommand({ FunctionName: want.functionName, ...(marker ? { Marker: marker } : {}) }),
      );
      const hit = page.Versions?.find((v) => v.Version !== '$LATEST' && v.Description === versionDescription(want.hash));
      if (hit?.Version) return hit.Version;
      marker = page.NextMarker;
    } while (marker);
    return undefined;
  }

  private async moveAlias(functionName: string, version: string): Promise<void> {
    const alias = await this.o.lambda.send(new GetAliasCommand({ FunctionName: functionName, Name: LIVE_ALIAS }));
    if (alias.FunctionVersion === version) return;
    await this.o.lambda.send(
      new UpdateAliasCommand({ FunctionName: functionName, Name: LIVE_ALIAS, FunctionVersion: version, RoutingConfig: {} }),
    );
  }

  /** The stage's access lines name the release that answers (the stack sets the same format). */
  private async setAccessLogFormat(gatewayUrl: string | undefined, format: string): Promise<void> {
    const apiId = gatewayUrl ? /^https:\/\/([a-z0-9]+)\.execute-api\./.exec(gatewayUrl)?.[1] : undefined;
    if (!apiId || !this.o.apigateway) return;
    const stage = await this.o.apigateway.send(new GetStageCommand({ ApiId: apiId, StageName: '$default' }));
    const destination = stage.AccessLogSettings?.DestinationArn;
    if (!destination || stage.AccessLogSettings?.Format === format) return;
    await this.o.apigateway.send(
      new UpdateStageCommand({ ApiId: apiId, StageName: '$default', AccessLogSettings: { DestinationArn: destination, Format: format } }),
    );
  }

  private async getFunction(name: string): Promise<FunctionState | undefined> {
    try {
      const out = await this.o.lambda.send(new GetFunctionCommand({ FunctionName: name }));
      const c = out.Configuration ?? {};
      return {
        imageUri: out.Code?.ImageUri,
        codeSha256: c.CodeSha256,
        memoryMb: c.MemorySize,
        timeoutSeconds: c.Timeout,
        environment: c.Environment?.Variables ?? {},
        updating: c.LastUpdateStatus === 'InProgress' || c.State === 'Pending',
      };
    } catch (e) {
      if (e instanceof ResourceNotFoundException || (e as Error).name === 'ResourceNotFoundException') return undefined;
      throw e;
    }
  }

  /** The version a function's `live` alias serves, if the function exists. */
  private async servedVersion(functionName: string): Promise<string | undefined> {
    try {
      const alias = await this.o.lambda.send(new GetAliasCommand({ FunctionName: functionName, Name: LIVE_ALIAS }));
      return alias.FunctionVersion;
    } catch (e) {
      if (e instanceof ResourceNotFoundException || (e as Error).name === 'ResourceNotFoundException') return undefined;
      throw e;
    }
  }

  private async describeStack(name: string): Promise<Stack | undefined> {
    try {
      const out = await this.o.cloudformation.send(new DescribeStacksCommand({ StackName: name }));
      const stack = out.Stacks?.[0];
      return stack?.StackStatus === 'DELETE_COMPLETE' ? undefined : stack;
    } catch (e) {
      if (/does not exist/.test((e as Error).message)) return undefined;
      throw e;
    }
  }

  private async updateStack(
    stackName: string,
    exists: boolean,
    description: EnvironmentDescription,
    parameters: Record<string, string>,
    meta: { deploymentId: string; shape: string },
  ): Promise<void> {
    const { synthesize, s3, templateBucket } = this.stacks;
    const { template, parameters: names } = synthesize(description, meta);
    const body = JSON.stringify(template);
    let templateSource: { TemplateBody: string } | { TemplateURL: string } = { TemplateBody: body };
    if (Buffer.byteLength(body) > INLINE_TEMPLATE_BYTES) {
      const key = `templates/${description.envId}/${meta.deploymentId}.json`;
      await s3.send(new PutObjectCommand({ Bucket: templateBucket, Key: key, Body: body, ContentType: 'application/json' }));
      templateSource = { TemplateURL: `https://${templateBucket}.s3.${await s3.config.region()}.amazonaws.com/${key}` };
    }
    const input = {
      StackName: stackName,
      ...templateSource,
      Parameters: names.filter((n) => n in parameters).map((n) => ({ ParameterKey: n, ParameterValue: parameters[n] })),
      Capabilities: ['CAPABILITY_IAM' as const],
      ClientRequestToken: meta.deploymentId,
      Tags: [
        { Key: 'kinto:environment', Value: description.envId },
        { Key: 'kinto:environment-name', Value: description.environment },
        { Key: 'kinto:project', Value: description.project },
      ],
      ...this.role,
    };
    try {
      await this.o.cloudformation.send(exists ? new UpdateStackCommand(input) : new CreateStackCommand(input));
    } catch (e) {
      // Asked again after a lost answer, or nothing to change: either way the stack is as wanted.
      if (/No updates are to be performed|already exists/.test((e as Error).message)) return;
      throw e;
    }
  }

  /** Whether this deployment asked for the stack's last operation (its request token). */
  private async requestedBy(stackName: string, deploymentId: string): Promise<boolean> {
    const events = await this.o.cloudformation.send(new DescribeStackEventsCommand({ StackName: stackName }));
    return (events.StackEvents ?? []).some((e) => e.ClientRequestToken === deploymentId);
  }

  /** The first failure CloudFormation reported for the stack's last operation (events come newest first). */
  private async failureReason(stackName: string): Promise<string> {
    const events = await this.o.cloudformation.send(new DescribeStackEventsCommand({ StackName: stackName }));
    const since: StackEvent[] = [];
    for (const e of events.StackEvents ?? []) {
      if (e.LogicalResourceId === stackName && /^(CREATE|UPDATE)_IN_PROGRESS$/.test(e.ResourceStatus ?? '')) break;
      since.push(e);
    }
    const first = since.filter((e) => /FAILED$/.test(e.ResourceStatus ?? '') && e.ResourceStatusReason).at(-1);
    return first ? `${first.LogicalResourceId}: ${first.ResourceStatusReason}` : 'no reason given';
  }

  /** Throttling, a function still updating, AWS's own 5xx: the step is asked again, not failed. */
  private async laterWhenTransient<T>(step: () => Promise<StepProgress<T>>): Promise<StepProgress<T>> {
    try {
      return await step();
    } catch (e) {
      const err = e as { name?: string; message?: string; $retryable?: unknown; $fault?: string };
      if (err.$retryable || err.$fault === 'server' || TRANSIENT.has(err.name ?? '')) {
        return this.later(`AWS answered ${err.name ?? 'an error'} (${err.message ?? ''}); trying again`, this.o.functionPollMs ?? 2000);
      }
      throw e;
    }
  }

  private later<T>(message: string, ms = this.o.stackPollMs ?? 10_000): StepProgress<T> {
    return { done: false, checkAfterMs: ms, message };
  }
}

interface FunctionState {
  readonly imageUri?: string;
  readonly codeSha256?: string;
  readonly memoryMb?: number;
  readonly timeoutSeconds?: number;
  readonly environment: Readonly<Record<string, string>>;
  readonly updating: boolean;
}

const versionDescription = (hash: string): string => `kinto ${hash}`;

function sameVariables(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => a[k] === b[k]);
}

function outputsOf(stack: Stack | undefined): Record<string, string> {
  return Object.fromEntries(
    (stack?.Outputs ?? []).flatMap((o) => (o.OutputKey && o.OutputValue !== undefined ? [[o.OutputKey, o.OutputValue]] : [])),
  );
}

/** A shut-down environment keeps its names: from the stack's tags. */
function descriptionOf(stack: Stack, envId: string, platform: PlatformRefs): EnvironmentDescription {
  const tag = (k: string) => stack.Tags?.find((t) => t.Key === k)?.Value ?? '';
  return { envId, project: tag('kinto:project'), environment: tag('kinto:environment-name') || envId, platform, blocks: [] };
}

import { ApiGatewayV2Client, GetStageCommand, UpdateStageCommand } from '@aws-sdk/client-apigatewayv2';
import {
  CloudFormationClient,
  ContinueUpdateRollbackCommand,
  CreateStackCommand,
  DeleteStackCommand,
  DescribeStackEventsCommand,
  DescribeStacksCommand,
  UpdateStackCommand,
  type StackEvent,
} from '@aws-sdk/client-cloudformation';
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
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DescribeServicesCommand, ECSClient, ListServicesCommand, TagResourceCommand, UpdateServiceCommand } from '@aws-sdk/client-ecs';
import {
  ConflictException,
  CreateScheduleCommand,
  DeleteScheduleCommand,
  ResourceNotFoundException as SchedulerNotFound,
  SchedulerClient,
} from '@aws-sdk/client-scheduler';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServiceDataHandler } from '../../lambdas/handlers/service-data';

/**
 * AWS at the SDK boundary, with just enough state to answer the calls the deployer makes the way
 * AWS would: CloudFormation applies a template's functions and aliases (intrinsics resolved, the
 * HTTP API's endpoint made up) one DescribeStacks after it was asked; Lambda keeps functions,
 * immutable versions and aliases; S3 keeps templates; job invocations answer an exit code and log
 * their output. Every call stays recorded by aws-sdk-client-mock, so tests assert exact commands.
 * EFS is a temporary folder standing for the file system's `/kinto`: a stack's access point makes
 * its folder with a file in it (as a service that ran would), deleting the stack leaves it (as on
 * AWS), and the platform's service-data function (`SERVICE_DATA_FUNCTION`) is the real handler
 * mounted on that folder.
 * ECS keeps a stack's custom services (made at the template's desired count, running what it says,
 * as CloudFormation waits for a service to be stable); a service woken to desired count 1 has its
 * task PENDING for `faults.serviceStartDescribes` DescribeServices (2 unless set), then RUNNING, or
 * never when `faults.serviceNeverRuns` is set (ECS's newest event says so). Scheduler keeps schedules.
 */
export interface FakeFunction {
  imageUri: string;
  memoryMb: number;
  timeoutSeconds: number;
  environment: Record<string, string>;
  versions: { version: string; description: string; imageUri: string; environment: Record<string, string> }[];
  aliases: Record<string, string>;
}

export interface FakeService {
  arn: string;
  name: string;
  stack: string;
  properties: string;
  desired: number;
  running: number;
  pending: number;
  tags: Record<string, string>;
  /** DescribeServices left before its starting task runs. */
  startsIn?: number;
  events: string[];
}

interface FakeStack {
  name: string;
  status: string;
  template: Record<string, any>;
  parameters: Record<string, string>;
  outputs: Record<string, string>;
  tags: { Key: string; Value: string }[];
  pending?: 'create' | 'update' | 'delete';
  events: StackEvent[];
}

export const API_ID = 'a1b2c3d4e5';
export const API_ENDPOINT = `https://${API_ID}.execute-api.eu-west-1.amazonaws.com`;
export const FILE_SYSTEM_ID = 'fs-0a1b2c3d4e5f60006';
export const SERVICE_DATA_FUNCTION = 'arn:aws:lambda:eu-west-1:123456789012:function:Kinto-BlocksServiceDataLambda';
export const CLUSTER_ARN = 'arn:aws:ecs:eu-west-1:123456789012:cluster/Kinto-BlocksCluster';

export function fakeAws() {
  const lambda = mockClient(LambdaClient);
  const cloudformation = mockClient(CloudFormationClient);
  const s3 = mockClient(S3Client);
  const logs = mockClient(CloudWatchLogsClient);
  const sfn = mockClient(SFNClient);
  const apigateway = mockClient(ApiGatewayV2Client);
  const ecs = mockClient(ECSClient);
  const scheduler = mockClient(SchedulerClient);
  const services = new Map<string, FakeService>();
  const schedules = new Map<string, Record<string, unknown>>();
  const functions = new Map<string, FakeFunction>();
  const stacks = new Map<string, FakeStack>();
  const objects = new Map<string, string>();
  const logEvents: { group: string; message: string; timestamp: number }[] = [];
  const stage = { format: '' };
  /** Set to make the next stack operation fail (and roll back) with this reason, or get stuck. */
  const faults: {
    stackFailure?: string;
    stuckInRollback?: boolean;
    jobExitCode?: number;
    throttleNext?: string;
    /** The service-data function fails (e.g. times out) with this message. */
    serviceData?: string;
    /** How many DescribeServices a woken service's task stays PENDING for. @default 2 */
    serviceStartDescribes?: number;
    /** A woken service's task never runs: ECS's newest event is this. */
    serviceNeverRuns?: string;
  } = {};
  const efs = mkdtempSync(join(tmpdir(), 'kinto-fake-efs-'));
  const serviceData = createServiceDataHandler({ root: efs, fileSystemId: FILE_SYSTEM_ID }, () => undefined);

  const notFound = (name: string) => new ResourceNotFoundException({ message: `Function not found: ${name}`, $metadata: {} });
  const fn = (name: string) => {
    const f = functions.get(name);
    if (!f) throw notFound(name);
    return f;
  };
  const throttle = (command: string) => {
    if (faults.throttleNext !== command) return;
    faults.throttleNext = undefined;
    throw Object.assign(new Error('Rate exceeded'), { name: 'TooManyRequestsException', $retryable: { throttling: true } });
  };

  lambda.on(GetFunctionCommand).callsFake(({ FunctionName }) => {
    const f = fn(FunctionName);
    return {
      Code: { ImageUri: f.imageUri },
      Configuration: {
        FunctionName,
        CodeSha256: `sha-${f.imageUri.slice(-8)}`,
        MemorySize: f.memoryMb,
        Timeout: f.timeoutSeconds,
        Environment: { Variables: { ...f.environment } },
        State: 'Active',
        LastUpdateStatus: 'Successful',
      },
    };
  });
  lambda.on(UpdateFunctionCodeCommand).callsFake(({ FunctionName, ImageUri }) => {
    fn(FunctionName).imageUri = ImageUri;
    return {};
  });
  lambda.on(UpdateFunctionConfigurationCommand).callsFake(({ FunctionName, MemorySize, Timeout, Environment }) => {
    const f = fn(FunctionName);
    Object.assign(f, { memoryMb: MemorySize, timeoutSeconds: Timeout, environment: { ...Environment.Variables } });
    return {};
  });
  lambda.on(PublishVersionCommand).callsFake(({ FunctionName, Description }) => {
    throttle('PublishVersion');
    const f = fn(FunctionName);
    const version = String(f.versions.length + 1);
    f.versions.push({ version, description: Description ?? '', imageUri: f.imageUri, environment: { ...f.environment } });
    return { Version: version };
  });
  lambda.on(ListVersionsByFunctionCommand).callsFake(({ FunctionName }) => ({
    Versions: [{ Version: '$LATEST' }, ...fn(FunctionName).versions.map((v) => ({ Version: v.version, Description: v.description }))],
  }));
  lambda.on(GetAliasCommand).callsFake(({ FunctionName, Name }) => ({ FunctionVersion: fn(FunctionName).aliases[Name] }));
  lambda.on(UpdateAliasCommand).callsFake(({ FunctionName, Name, FunctionVersion }) => {
    fn(FunctionName).aliases[Name] = FunctionVersion;
    return {};
  });
  lambda.on(InvokeCommand).callsFake(async ({ FunctionName, Payload, InvocationType }) => {
    // Asynchronous invocations of the platform's own deployer are only handed over.
    if (InvocationType === 'Event') return { StatusCode: 202 };
    if (FunctionName === SERVICE_DATA_FUNCTION) {
      const failure = faults.serviceData;
      faults.serviceData = undefined;
      const answer = failure ? { errorMessage: failure } : await serviceData(JSON.parse(Buffer.from(Payload).toString('utf8')));
      return { StatusCode: 200, ...(failure ? { FunctionError: 'Unhandled' } : {}), Payload: Buffer.from(JSON.stringify(answer)) };
    }
    fn(FunctionName);
    const { runId } = JSON.parse(Buffer.from(Payload).toString('utf8')) as { runId: string };
    const exitCode = faults.jobExitCode ?? 0;
    logEvents.push({
      group: `/kinto/env/${envOfFunction(FunctionName)}/block/${FunctionName.split('-').slice(2).join('-')}`,
      message: `[${runId}] job ran\n`,
      timestamp: Date.now(),
    });
    return { StatusCode: 200, Payload: Buffer.from(JSON.stringify({ exitCode })) };
  });
  const envOfFunction = (name: string) =>
    [...stacks.values()]
      .find((s) => name.includes(s.name.slice('kinto-env-'.length, 'kinto-env-'.length + 12)))
      ?.name.slice('kinto-env-'.length) ?? '?';

  logs.on(FilterLogEventsCommand).callsFake(({ logGroupName, filterPattern }) => ({
    events: logEvents
      .filter((e) => e.group === logGroupName && e.message.includes(String(filterPattern).replace(/"/g, '')))
      .map((e) => ({ message: e.message, timestamp: e.timestamp })),
  }));
  s3.on(PutObjectCommand).callsFake(({ Bucket, Key, Body }) => {
    objects.set(`https://${Bucket}.s3.eu-west-1.amazonaws.com/${Key}`, String(Body));
    return {};
  });
  apigateway.on(GetStageCommand).callsFake(() => ({
    AccessLogSettings: { DestinationArn: 'arn:aws:logs:eu-west-1:123456789012:log-group:/kinto/env/x/gateway', Format: stage.format },
  }));
  apigateway.on(UpdateStageCommand).callsFake(({ AccessLogSettings }) => {
    stage.format = AccessLogSettings.Format;
    return {};
  });
  ecs.on(ListServicesCommand).callsFake(({ cluster }) => ({
    serviceArns: [...services.values()].filter((v) => v.arn.startsWith(`${cluster.replace(':cluster/', ':service/')}/`)).map((v) => v.arn),
  }));
  ecs.on(DescribeServicesCommand).callsFake(({ services: arns, include }) => ({
    services: (arns as string[]).flatMap((arn) => {
      const v = services.get(arn);
      if (!v) return [];
      if (v.startsIn !== undefined && !faults.serviceNeverRuns && --v.startsIn <= 0) {
        Object.assign(v, { running: 1, pending: 0, startsIn: undefined });
        v.events.unshift(`(service ${v.name}) has reached a steady state.`);
      }
      return [
        {
          serviceArn: v.arn,
          serviceName: v.name,
          status: 'ACTIVE',
          desiredCount: v.desired,
          runningCount: v.running,
          pendingCount: v.pending,
          events: v.events.map((message) => ({ message })),
          ...(include?.includes('TAGS') ? { tags: Object.entries(v.tags).map(([key, value]) => ({ key, value })) } : {}),
        },
      ];
    }),
  }));
  ecs.on(UpdateServiceCommand).callsFake(({ service, desiredCount }) => {
    const v = services.get(service)!;
    if (desiredCount === 1 && v.desired === 0 && v.running === 0) {
      Object.assign(v, { desired: 1, pending: 1, startsIn: faults.serviceStartDescribes ?? 2 });
      v.events.unshift(faults.serviceNeverRuns ?? `(service ${v.name}) has started 1 tasks: (task 0123456789abcdef).`);
    } else if (desiredCount === 0) Object.assign(v, { desired: 0, running: 0, pending: 0, startsIn: undefined });
    return { service: { serviceArn: v.arn } };
  });
  ecs.on(TagResourceCommand).callsFake(({ resourceArn, tags }) => {
    const v = services.get(resourceArn)!;
    for (const t of tags) v.tags[t.key] = t.value;
    return {};
  });
  scheduler.on(CreateScheduleCommand).callsFake((input) => {
    const key = `${input.GroupName}/${input.Name}`;
    if (schedules.has(key))
      throw new ConflictException({ message: `Schedule ${input.Name} already exists.`, Message: 'exists', $metadata: {} });
    schedules.set(key, input);
    return { ScheduleArn: `arn:aws:scheduler:eu-west-1:123456789012:schedule/${key}` };
  });
  scheduler.on(DeleteScheduleCommand).callsFake(({ GroupName, Name }) => {
    if (!schedules.delete(`${GroupName}/${Name}`))
      throw new SchedulerNotFound({ message: `Schedule ${Name} does not exist.`, Message: 'not found', $metadata: {} });
    return {};
  });
  sfn.on(StartExecutionCommand).resolves({ executionArn: 'arn:aws:states:eu-west-1:123456789012:execution:deployments:x' });

  const event = (stack: FakeStack, status: string, reason?: string, token?: string): void => {
    stack.events.unshift({
      StackName: stack.name,
      StackId: stack.name,
      EventId: String(stack.events.length),
      Timestamp: new Date(),
      LogicalResourceId: reason ? 'BlockwebFunction' : stack.name,
      ResourceStatus: status as never,
      ...(reason ? { ResourceStatusReason: reason } : {}),
      ...(token ? { ClientRequestToken: token } : {}),
    });
  };
  const change = (input: any, kind: 'create' | 'update') => {
    const existing = stacks.get(input.StackName);
    if (kind === 'create' && existing) throw new Error(`Stack [${input.StackName}] already exists`);
    if (kind === 'update' && !existing) throw new Error(`Stack [${input.StackName}] does not exist`);
    const body = input.TemplateBody ?? objects.get(input.TemplateURL);
    if (!body) throw new Error(`no template at ${input.TemplateURL}`);
    const template = JSON.parse(body);
    const parameters = Object.fromEntries((input.Parameters ?? []).map((p: any) => [p.ParameterKey, p.ParameterValue]));
    if (
      existing &&
      JSON.stringify(existing.template) === JSON.stringify(template) &&
      JSON.stringify(existing.parameters) === JSON.stringify(parameters)
    ) {
      throw new Error('No updates are to be performed.');
    }
    const stack: FakeStack = existing ?? {
      name: input.StackName,
      status: '',
      template: {},
      parameters: {},
      outputs: {},
      tags: input.Tags ?? [],
      events: [],
    };
    Object.assign(stack, { template, parameters, status: kind === 'create' ? 'CREATE_IN_PROGRESS' : 'UPDATE_IN_PROGRESS', pending: kind });
    event(stack, stack.status, undefined, input.ClientRequestToken);
    stacks.set(stack.name, stack);
    return { StackId: stack.name };
  };
  cloudformation.on(CreateStackCommand).callsFake((input) => change(input, 'create'));
  cloudformation.on(UpdateStackCommand).callsFake((input) => change(input, 'update'));
  cloudformation.on(DeleteStackCommand).callsFake(({ StackName }) => {
    const stack = stacks.get(StackName);
    if (stack) Object.assign(stack, { status: 'DELETE_IN_PROGRESS', pending: 'delete' });
    return {};
  });
  cloudformation.on(ContinueUpdateRollbackCommand).callsFake(({ StackName }) => {
    const stack = stacks.get(StackName)!;
    Object.assign(stack, { status: 'UPDATE_ROLLBACK_COMPLETE' });
    return {};
  });
  cloudformation.on(DescribeStackEventsCommand).callsFake(({ StackName }) => ({ StackEvents: stacks.get(StackName)?.events ?? [] }));
  cloudformation.on(DescribeStacksCommand).callsFake(({ StackName }) => {
    const stack = stacks.get(StackName);
    if (!stack) throw new Error(`Stack with id ${StackName} does not exist`);
    if (stack.pending) settle(stack);
    if (!stacks.has(StackName)) throw new Error(`Stack with id ${StackName} does not exist`);
    return {
      Stacks: [
        {
          StackName,
          StackStatus: stack.status as never,
          CreationTime: new Date(),
          Tags: stack.tags,
          Outputs: Object.entries(stack.outputs).map(([OutputKey, OutputValue]) => ({ OutputKey, OutputValue })),
        },
      ],
    };
  });

  /** What CloudFormation does between two polls: applies the template, or fails and rolls back. */
  function settle(stack: FakeStack): void {
    const kind = stack.pending!;
    stack.pending = undefined;
    if (kind === 'delete') {
      for (const name of functionNamesOf(stack)) functions.delete(name);
      for (const v of [...services.values()]) if (v.stack === stack.name) services.delete(v.arn);
      stacks.delete(stack.name);
      return;
    }
    if (faults.stackFailure) {
      const reason = faults.stackFailure;
      faults.stackFailure = undefined;
      event(stack, `${kind.toUpperCase()}_FAILED`, reason);
      stack.status =
        kind === 'create' ? 'ROLLBACK_COMPLETE' : faults.stuckInRollback ? 'UPDATE_ROLLBACK_FAILED' : 'UPDATE_ROLLBACK_COMPLETE';
      return;
    }
    apply(stack);
    stack.status = kind === 'create' ? 'CREATE_COMPLETE' : 'UPDATE_COMPLETE';
  }

  function functionNamesOf(stack: FakeStack): string[] {
    return Object.values(stack.template.Resources ?? {})
      .filter((r: any) => r.Type === 'AWS::Lambda::Function')
      .map((r: any) => r.Properties.FunctionName as string);
  }

  function apply(stack: FakeStack): void {
    const resources = stack.template.Resources as Record<string, any>;
    const resolve = (v: any): any => {
      if (typeof v === 'string') return v;
      if (v?.Ref) {
        if (v.Ref in stack.parameters) return stack.parameters[v.Ref];
        if (v.Ref === 'AWS::Region') return 'eu-west-1';
        if (v.Ref === 'AWS::AccountId') return '123456789012';
        if (v.Ref === 'AWS::Partition') return 'aws';
        if (v.Ref === 'AWS::URLSuffix') return 'amazonaws.com';
        const target = resources[v.Ref];
        if (target?.Type === 'AWS::Lambda::Function') return target.Properties.FunctionName;
        if (target?.Type === 'AWS::ApiGatewayV2::Api') return API_ID;
        return v.Ref;
      }
      if (v?.['Fn::GetAtt']) {
        const [id, attr] = v['Fn::GetAtt'];
        if (resources[id]?.Type === 'AWS::ApiGatewayV2::Api' && attr === 'ApiEndpoint') return API_ENDPOINT;
        return `${id}.${attr}`;
      }
      if (v?.['Fn::Join']) return (v['Fn::Join'][1] as any[]).map(resolve).join(v['Fn::Join'][0]);
      throw new Error(`the fake cannot resolve ${JSON.stringify(v)}`);
    };
    const kept = new Set<string>();
    for (const r of Object.values(resources)) {
      if (r.Type !== 'AWS::Lambda::Function') continue;
      const p = r.Properties;
      const name = p.FunctionName as string;
      kept.add(name);
      const environment = Object.fromEntries(Object.entries(p.Environment?.Variables ?? {}).map(([k, v]) => [k, resolve(v)]));
      const current = functions.get(name);
      const wanted = { imageUri: resolve(p.Code.ImageUri), memoryMb: p.MemorySize, timeoutSeconds: p.Timeout, environment };
      if (current) Object.assign(current, wanted);
      else functions.set(name, { ...wanted, versions: [], aliases: {} });
    }
    for (const r of Object.values(resources)) {
      if (r.Type !== 'AWS::Lambda::Alias') continue;
      const f = functions.get(resolve(r.Properties.FunctionName));
      if (f) f.aliases[r.Properties.Name] = resolve(r.Properties.FunctionVersion);
    }
    for (const name of [...functions.keys()]) if (name.startsWith('kinto-') && !kept.has(name) && isOf(stack, name)) functions.delete(name);
    stack.outputs = Object.fromEntries(Object.entries(stack.template.Outputs ?? {}).map(([k, o]: [string, any]) => [k, resolve(o.Value)]));
    const format = Object.values(resources).find((r: any) => r.Type === 'AWS::ApiGatewayV2::Stage')?.Properties.AccessLogSettings?.Format;
    if (format) stage.format = format;
    // Custom services, kept as they are while their resource is unchanged (desired count included:
    // a stack update that changes one sets the template's count).
    const made = new Set<string>();
    for (const r of Object.values(resources)) {
      if (r.Type !== 'AWS::ECS::Service') continue;
      const p = r.Properties;
      const arn = `${String(resolve(p.Cluster)).replace(':cluster/', ':service/')}/${p.ServiceName}`;
      made.add(arn);
      const properties = JSON.stringify(p);
      if (services.get(arn)?.properties === properties) continue;
      const desired = Number(p.DesiredCount ?? 0);
      const tags = Object.fromEntries((p.Tags ?? []).map((t: any) => [t.Key, resolve(t.Value)]));
      services.set(arn, {
        arn,
        name: p.ServiceName,
        stack: stack.name,
        properties,
        desired,
        running: desired,
        pending: 0,
        tags,
        events: [],
      });
    }
    for (const v of [...services.values()]) if (v.stack === stack.name && !made.has(v.arn)) services.delete(v.arn);
    // A service's folder, with what it wrote (EFS makes the folder at the first mount).
    for (const r of Object.values(resources)) {
      if (r.Type !== 'AWS::EFS::AccessPoint') continue;
      const folder = join(efs, String(r.Properties.RootDirectory.Path).replace(/^\/kinto\//, ''));
      mkdirSync(folder, { recursive: true });
      writeFileSync(join(folder, 'dump.rdb'), 'REDIS0011');
    }
  }
  const isOf = (stack: FakeStack, functionName: string) =>
    functionName.startsWith(`kinto-${stack.name.slice('kinto-env-'.length, 'kinto-env-'.length + 12)}-`);

  /** The calls that change something in AWS (reads left out). */
  const writes = (): string[] =>
    [lambda, cloudformation, s3, apigateway, ecs, scheduler].flatMap((m) =>
      m
        .calls()
        .map((c) => (c.args[0] as { constructor: { name: string } }).constructor.name.replace(/Command$/, ''))
        .filter((name) => !/^(Get|List|Describe|Filter)/.test(name) && name !== 'Invoke'),
    );

  /** Every call to any of the fakes, in the order they were made, as [command name, input]. */
  const timeline = (): [string, Record<string, any>][] =>
    // Sinon numbers every call of every stub (callId), which its types do not declare.
    ([lambda, cloudformation, s3, logs, sfn, apigateway, ecs, scheduler] as unknown as { calls(): { callId: number; args: unknown[] }[] }[])
      .flatMap((m) => m.calls())
      .sort((a, b) => a.callId - b.callId)
      .map((c) => {
        const command = c.args[0] as { constructor: { name: string }; input: Record<string, any> };
        return [command.constructor.name.replace(/Command$/, ''), command.input];
      });

  return {
    lambda,
    cloudformation,
    s3,
    logs,
    sfn,
    apigateway,
    ecs,
    scheduler,
    services,
    schedules,
    functions,
    stacks,
    stage,
    faults,
    writes,
    timeline,
    /** The folder standing for the file system's `/kinto`. */
    efs,
    reset(): void {
      for (const m of [lambda, cloudformation, s3, logs, sfn, apigateway, ecs, scheduler]) m.resetHistory();
    },
    restore(): void {
      for (const m of [lambda, cloudformation, s3, logs, sfn, apigateway, ecs, scheduler]) m.restore();
      rmSync(efs, { recursive: true, force: true });
    },
    clients: {
      lambda: new LambdaClient({ region: 'eu-west-1' }),
      cloudformation: new CloudFormationClient({ region: 'eu-west-1' }),
      s3: new S3Client({ region: 'eu-west-1' }),
      logs: new CloudWatchLogsClient({ region: 'eu-west-1' }),
      sfn: new SFNClient({ region: 'eu-west-1' }),
      apigateway: new ApiGatewayV2Client({ region: 'eu-west-1' }),
      ecs: new ECSClient({ region: 'eu-west-1' }),
      scheduler: new SchedulerClient({ region: 'eu-west-1' }),
    },
  };
}

export type FakeAws = ReturnType<typeof fakeAws>;

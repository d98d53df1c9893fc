import { gzipSync } from 'node:zlib';
import {
  DescribeServicesCommand,
  ECSClient,
  ListServicesCommand,
  TagResourceCommand,
  UpdateServiceCommand,
  type Service,
} from '@aws-sdk/client-ecs';
import {
  ConflictException,
  CreateScheduleCommand,
  DeleteScheduleCommand,
  ResourceNotFoundException,
  SchedulerClient,
} from '@aws-sdk/client-scheduler';
import type { CloudWatchLogsEvent } from 'aws-lambda';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { mockClient, type AwsStub } from 'aws-sdk-client-mock';
import { AwsRuntime } from '../../lambdas/adapters/aws/runtime/aws-runtime';
import { ServiceStarter } from '../../lambdas/adapters/aws/services/start-services';
import type { JobRun } from '../../lambdas/core/model';
import type { DeploymentPlan, PlannedBlock } from '../../lambdas/ports/runtime';
import { reapService } from '../../lambdas/adapters/aws/services/reap-service';
import { SchedulerReaperSchedules } from '../../lambdas/adapters/aws/services/reaper-schedules';
import { EcsServiceFleet } from '../../lambdas/adapters/aws/services/service-fleet';
import { ServiceWaker } from '../../lambdas/adapters/aws/services/wake-services';
import { createServiceReaperHandler } from '../../lambdas/handlers/service-reaper';
import { createServiceWakerHandler } from '../../lambdas/handlers/service-waker';

const ecs = mockClient(ECSClient);
const lambda = mockClient(LambdaClient);
const scheduler = mockClient(SchedulerClient);

const CLUSTER = 'arn:aws:ecs:eu-west-1:123456789012:cluster/Kinto-BlocksCluster';
const ENV = 'c4f3a9d2e1b04c8f9a7d6e5f4a3b2c1d';
const OTHER_ENV = '0123456789ab0000000000000000ffff';
const arnOf = (env: string, block: string) =>
  `arn:aws:ecs:eu-west-1:123456789012:service/Kinto-BlocksCluster/kinto-${env.slice(0, 12)}-${block}`;
const DB = arnOf(ENV, 'db');
const CACHE = arnOf(ENV, 'cache');
const GROUP = 'Kinto-service-reapers';
const REAPER = 'arn:aws:lambda:eu-west-1:123456789012:function:Kinto-ServiceWakerReaper';
const ROLE = 'arn:aws:iam::123456789012:role/Kinto-ServiceWakerSchedulerRole';
/** The time of the traffic the tests report (ms), and the clock at that moment. */
const T = Date.UTC(2026, 0, 1, 12, 0, 0);

/** An ECS service as DescribeServices answers (with its tags). */
function svc(
  arn: string,
  o: { desired?: number; running?: number; pending?: number; status?: string; tags?: Record<string, string> } = {},
): Service {
  const name = arn.slice(arn.lastIndexOf('/') + 1);
  const tags = {
    'kinto:env': ENV,
    'kinto:block': name.split('-').slice(2).join('-'),
    'kinto:idle-seconds': '300',
    'kinto:always-on': 'false',
    ...o.tags,
  };
  return {
    serviceArn: arn,
    serviceName: name,
    status: o.status ?? 'ACTIVE',
    desiredCount: o.desired ?? 0,
    runningCount: o.running ?? 0,
    pendingCount: o.pending ?? 0,
    tags: Object.entries(tags).map(([key, value]) => ({ key, value })),
  };
}

/** Every command a mock received, in order, as [name, input]. */
function sent(mock: AwsStub<any, any, any>): [string, Record<string, unknown>][] {
  return mock.calls().map((c) => {
    const command = c.args[0] as { constructor: { name: string }; input: Record<string, unknown> };
    return [command.constructor.name.replace(/Command$/, ''), command.input];
  });
}
const ecsWrites = () => sent(ecs).filter(([name]) => name === 'UpdateService' || name === 'TagResource');

const fleet = () => new EcsServiceFleet(new ECSClient({ region: 'eu-west-1' }), CLUSTER);
const schedules = () =>
  new SchedulerReaperSchedules(new SchedulerClient({ region: 'eu-west-1' }), {
    groupName: GROUP,
    target: { reaperFunctionArn: REAPER, roleArn: ROLE },
  });

let now = T;
const waker = () => new ServiceWaker({ fleet: fleet(), schedules: schedules(), now: () => now });

/** Services the environment has (and one of another environment, which must never be touched). */
function listing(...arns: string[]) {
  ecs.on(ListServicesCommand).resolves({ serviceArns: [...arns, arnOf(OTHER_ENV, 'db')] });
}

beforeEach(() => {
  ecs.reset();
  scheduler.reset();
  now = T;
  ecs.on(UpdateServiceCommand).resolves({});
  ecs.on(TagResourceCommand).resolves({});
  scheduler.on(CreateScheduleCommand).resolves({ ScheduleArn: 'arn' });
  scheduler.on(DeleteScheduleCommand).resolves({});
});

describe('Class: ServiceWaker', () => {
  describe('Method: wake', () => {
    it("wakes a sleeping service: its reaper schedule first, then desired count 1, then the traffic's time", async () => {
      listing(DB);
      ecs.on(DescribeServicesCommand).resolves({ services: [svc(DB)] });

      const result = await waker().wake(ENV, T);

      expect(result).toEqual({ envId: ENV, services: [{ name: `kinto-${ENV.slice(0, 12)}-db`, action: 'woken' }] });
      expect(sent(ecs)).toEqual([
        ['ListServices', { cluster: CLUSTER, maxResults: 100, nextToken: undefined }],
        ['DescribeServices', { cluster: CLUSTER, services: [DB], include: ['TAGS'] }],
        ['UpdateService', { cluster: CLUSTER, service: DB, desiredCount: 1 }],
        ['TagResource', { resourceArn: DB, tags: [{ key: 'kinto:last-traffic', value: String(T / 1000) }] }],
      ]);
      expect(sent(scheduler)).toEqual([
        [
          'CreateSchedule',
          {
            Name: `kinto-${ENV.slice(0, 12)}-db`,
            GroupName: GROUP,
            Description: expect.stringContaining('sleep') as unknown,
            ScheduleExpression: 'rate(1 minute)',
            FlexibleTimeWindow: { Mode: 'OFF' },
            State: 'ENABLED',
            Target: { Arn: REAPER, RoleArn: ROLE, Input: JSON.stringify({ service: DB }), RetryPolicy: { MaximumRetryAttempts: 0 } },
          },
        ],
      ]);
      // The schedule exists before the service runs: an awake service always has a reaper.
      expect(scheduler.commandCalls(CreateScheduleCommand)[0].calledBefore(ecs.commandCalls(UpdateServiceCommand)[0])).toBe(true);
    });

    it('never updates a service that is already starting (desired 1, nothing running yet) or running', async () => {
      listing(DB, CACHE);
      const recent = { 'kinto:last-traffic': String(T / 1000 - 10) };
      ecs.on(DescribeServicesCommand).resolves({
        services: [svc(DB, { desired: 1, running: 0, pending: 1, tags: recent }), svc(CACHE, { desired: 1, running: 1, tags: recent })],
      });

      const result = await waker().wake(ENV, T);

      expect(result.services.map((s) => s.action)).toEqual(['awake', 'awake']);
      expect(ecsWrites()).toEqual([]);
      expect(sent(scheduler)).toEqual([]);
    });

    it('records traffic on an awake service once its last record is a minute old, and makes sure its reaper still looks', async () => {
      listing(DB);
      ecs.on(DescribeServicesCommand).resolves({
        services: [svc(DB, { desired: 1, running: 1, tags: { 'kinto:last-traffic': String(T / 1000 - 61) } })],
      });
      scheduler
        .on(CreateScheduleCommand)
        .rejects(new ConflictException({ message: 'Schedule already exists', Message: 'Schedule already exists', $metadata: {} }));

      const result = await waker().wake(ENV, T);

      expect(result.services).toEqual([{ name: `kinto-${ENV.slice(0, 12)}-db`, action: 'traffic-recorded' }]);
      expect(ecsWrites()).toEqual([['TagResource', { resourceArn: DB, tags: [{ key: 'kinto:last-traffic', value: String(T / 1000) }] }]]);
      expect(sent(scheduler).map(([name]) => name)).toEqual(['CreateSchedule']);
    });

    it('wakes an always-on service that was stopped, without a reaper schedule', async () => {
      listing(CACHE);
      ecs.on(DescribeServicesCommand).resolves({ services: [svc(CACHE, { desired: 0, tags: { 'kinto:always-on': 'true' } })] });

      await waker().wake(ENV, T);

      expect(ecsWrites().map(([name, input]) => [name, input.desiredCount])).toEqual([
        ['UpdateService', 1],
        ['TagResource', undefined],
      ]);
      expect(sent(scheduler)).toEqual([]);
    });

    it('is idempotent: the same traffic again (a retried batch, another instance) changes nothing more', async () => {
      listing(DB);
      ecs
        .on(DescribeServicesCommand)
        .resolvesOnce({ services: [svc(DB)] })
        .resolves({ services: [svc(DB, { desired: 1, pending: 1, tags: { 'kinto:last-traffic': String(T / 1000) } })] });

      await waker().wake(ENV, T);
      const [ecsBefore, schedulerBefore] = [sent(ecs).length, sent(scheduler).length];
      // Another Lambda instance (no memory of the first), the same batch.
      const again = await waker().wake(ENV, T);

      expect(again.services.map((s) => s.action)).toEqual(['awake']);
      expect(
        sent(ecs)
          .slice(ecsBefore)
          .map(([name]) => name),
      ).toEqual(['ListServices', 'DescribeServices']);
      expect(sent(scheduler).slice(schedulerBefore)).toEqual([]);
    });

    it('asks ECS nothing for 10 s after finding every service awake, lists again after a minute', async () => {
      listing(DB);
      ecs.on(DescribeServicesCommand).resolves({
        services: [svc(DB, { desired: 1, running: 1, tags: { 'kinto:last-traffic': String(T / 1000) } })],
      });
      const w = waker();
      await w.wake(ENV, T);
      ecs.resetHistory();

      now = T + 5_000;
      expect(await w.wake(ENV, T + 5_000)).toEqual({ envId: ENV, services: [], skipped: 'recently-checked' });
      expect(sent(ecs)).toEqual([]);

      now = T + 11_000;
      await w.wake(ENV, T + 11_000);
      expect(sent(ecs).map(([name]) => name)).toEqual(['DescribeServices']);

      ecs.resetHistory();
      now = T + 61_000;
      await w.wake(ENV, T + 61_000);
      expect(sent(ecs).map(([name]) => name)).toEqual(['ListServices', 'DescribeServices', 'TagResource']);
    });

    it("pages through the cluster's services and describes them ten at a time, the environment's only", async () => {
      const blocks = Array.from({ length: 12 }, (_, i) => `s${i}`);
      ecs
        .on(ListServicesCommand)
        .resolvesOnce({ serviceArns: [...blocks.slice(0, 6).map((b) => arnOf(ENV, b)), arnOf(OTHER_ENV, 'x')], nextToken: 'page-2' })
        .resolves({ serviceArns: blocks.slice(6).map((b) => arnOf(ENV, b)) });
      ecs.on(DescribeServicesCommand).callsFake((input: { services: string[] }) => ({
        services: input.services.map((a) => svc(a, { desired: 1, running: 1, tags: { 'kinto:last-traffic': String(T / 1000) } })),
      }));

      await waker().wake(ENV, T);

      expect(ecs.commandCalls(ListServicesCommand).map((c) => c.args[0].input.nextToken)).toEqual([undefined, 'page-2']);
      const described = ecs.commandCalls(DescribeServicesCommand).map((c) => c.args[0].input.services);
      expect(described.map((s) => s!.length)).toEqual([10, 2]);
      expect(described.flat()).not.toContain(arnOf(OTHER_ENV, 'x'));
    });

    it('leaves a service that is being deleted alone, and does nothing for an environment without services', async () => {
      listing(DB);
      ecs.on(DescribeServicesCommand).resolves({ services: [svc(DB, { status: 'DRAINING' })] });
      expect((await waker().wake(ENV, T)).services).toEqual([{ name: `kinto-${ENV.slice(0, 12)}-db`, action: 'inactive' }]);
      expect(ecsWrites()).toEqual([]);

      ecs.reset();
      ecs.on(ListServicesCommand).resolves({ serviceArns: [arnOf(OTHER_ENV, 'db')] });
      expect(await waker().wake(ENV, T)).toEqual({ envId: ENV, services: [] });
      expect(sent(ecs).map(([name]) => name)).toEqual(['ListServices']);
    });

    it('throws when ECS refuses (the asynchronous invocation is retried), having still woken the other services', async () => {
      listing(DB, CACHE);
      ecs.on(DescribeServicesCommand).resolves({ services: [svc(DB), svc(CACHE)] });
      ecs.on(UpdateServiceCommand, { service: DB }).rejects(new Error('Rate exceeded'));
      const w = waker();

      await expect(w.wake(ENV, T)).rejects.toThrow(/waking the services of environment c4f3.*kinto-c4f3a9d2e1b0-db: Error: Rate exceeded/);
      expect(ecs.commandCalls(UpdateServiceCommand).map((c) => c.args[0].input.service)).toEqual([DB, CACHE]);
      // It forgets what it knew: the retry lists and describes again.
      ecs.resetHistory();
      ecs.on(UpdateServiceCommand).resolves({});
      await w.wake(ENV, T);
      expect(
        sent(ecs)
          .slice(0, 2)
          .map(([name]) => name),
      ).toEqual(['ListServices', 'DescribeServices']);
    });
  });

  describe('Handler: service-waker (CloudWatch Logs subscription)', () => {
    const event = (batch: Record<string, unknown>): CloudWatchLogsEvent => ({
      awslogs: { data: gzipSync(Buffer.from(JSON.stringify(batch))).toString('base64') },
    });
    const lines: string[] = [];
    const handler = () => createServiceWakerHandler(waker(), (l) => lines.push(l));

    it("wakes the environment the log group names, at the newest START line's time", async () => {
      listing(DB);
      ecs.on(DescribeServicesCommand).resolves({ services: [svc(DB)] });
      const result = await handler()(
        event({
          messageType: 'DATA_MESSAGE',
          logGroup: `/kinto/env/${ENV}/block/api`,
          logStream: '2026/01/01/[7]abc',
          subscriptionFilters: ['kinto-service-waker'],
          logEvents: [
            { id: '1', timestamp: T - 2000, message: 'START RequestId: 1 Version: 3\n' },
            { id: '2', timestamp: T, message: 'START RequestId: 2 Version: 3\n' },
          ],
        }),
      );
      expect(result.status).toBe('woken');
      expect(ecs.commandCalls(TagResourceCommand)[0].args[0].input.tags).toEqual([{ key: 'kinto:last-traffic', value: String(T / 1000) }]);
      expect(ecs.commandCalls(UpdateServiceCommand).map((c) => c.args[0].input)).toEqual([
        { cluster: CLUSTER, service: DB, desiredCount: 1 },
      ]);
    });

    it('drops control messages, groups Kinto did not name and corrupt payloads without a call', async () => {
      expect((await handler()(event({ messageType: 'CONTROL_MESSAGE', logGroup: '', logStream: '', logEvents: [] }))).status).toBe(
        'control',
      );
      expect(
        (
          await handler()(
            event({
              messageType: 'DATA_MESSAGE',
              logGroup: '/aws/lambda/other',
              logStream: 's',
              logEvents: [{ id: '1', timestamp: T, message: 'START' }],
            }),
          )
        ).status,
      ).toBe('unknown-group');
      expect((await handler()({ awslogs: { data: 'not base64 gzip' } })).status).toBe('corrupt');
      expect(sent(ecs)).toEqual([]);
      expect(sent(scheduler)).toEqual([]);
    });
  });
});

describe('Function: reapService', () => {
  const reap = (arn = DB) => reapService(arn, { fleet: fleet(), schedules: schedules(), now: () => now });
  const describing = (service?: Service) =>
    ecs
      .on(DescribeServicesCommand)
      .resolves(service ? { services: [service] } : { services: [], failures: [{ arn: DB, reason: 'MISSING' }] });
  const deleteSchedule = ['DeleteSchedule', { Name: `kinto-${ENV.slice(0, 12)}-db`, GroupName: GROUP }];

  it('puts a service to sleep once it has had no traffic for its idle time, then removes its own schedule', async () => {
    describing(svc(DB, { desired: 1, running: 1, tags: { 'kinto:last-traffic': String(T / 1000 - 300) } }));
    expect(await reap()).toBe('put-to-sleep');
    expect(sent(ecs)).toEqual([
      ['DescribeServices', { cluster: CLUSTER, services: [DB], include: ['TAGS'] }],
      ['UpdateService', { cluster: CLUSTER, service: DB, desiredCount: 0 }],
    ]);
    expect(sent(scheduler)).toEqual([deleteSchedule]);
  });

  it('leaves it running while its idle time has not passed (a second short of it)', async () => {
    describing(svc(DB, { desired: 1, running: 1, tags: { 'kinto:idle-seconds': '600', 'kinto:last-traffic': String(T / 1000 - 599) } }));
    expect(await reap()).toBe('awake');
    expect(ecsWrites()).toEqual([]);
    expect(sent(scheduler)).toEqual([]);
  });

  it('takes an idle time under a minute as a minute (the reaper looks once a minute)', async () => {
    describing(svc(DB, { desired: 1, running: 1, tags: { 'kinto:idle-seconds': '5', 'kinto:last-traffic': String(T / 1000 - 30) } }));
    expect(await reap()).toBe('awake');
    ecs.reset();
    describing(svc(DB, { desired: 1, running: 1, tags: { 'kinto:idle-seconds': '5', 'kinto:last-traffic': String(T / 1000 - 60) } }));
    ecs.on(UpdateServiceCommand).resolves({});
    expect(await reap()).toBe('put-to-sleep');
  });

  it('never puts an always-on service to sleep, however idle, and stops watching it', async () => {
    describing(svc(DB, { desired: 1, running: 1, tags: { 'kinto:always-on': 'true', 'kinto:last-traffic': '1' } }));
    expect(await reap()).toBe('always-on');
    expect(ecsWrites()).toEqual([]);
    expect(sent(scheduler)).toEqual([deleteSchedule]);
  });

  it('is idempotent: a run after the service sleeps only removes the schedule (already gone is fine)', async () => {
    describing(svc(DB, { desired: 0, running: 0, tags: { 'kinto:last-traffic': String(T / 1000 - 900) } }));
    scheduler
      .on(DeleteScheduleCommand)
      .rejects(new ResourceNotFoundException({ message: 'Schedule not found', Message: 'Schedule not found', $metadata: {} }));
    expect(await reap()).toBe('asleep');
    expect(ecsWrites()).toEqual([]);
    expect(sent(scheduler)).toEqual([deleteSchedule]);
  });

  it('removes the schedule of a service that was deleted (its environment was) or is being deleted', async () => {
    describing(undefined);
    expect(await reap()).toBe('gone');
    ecs.reset();
    describing(svc(DB, { desired: 1, status: 'DRAINING' }));
    expect(await reap()).toBe('gone');
    expect(ecsWrites()).toEqual([]);
    expect(sent(scheduler)).toEqual([deleteSchedule, deleteSchedule]);
  });

  it('never stops a service on a missing fact: without a recorded traffic time it starts counting now', async () => {
    describing(svc(DB, { desired: 1, running: 1 }));
    expect(await reap()).toBe('counting');
    expect(ecsWrites()).toEqual([['TagResource', { resourceArn: DB, tags: [{ key: 'kinto:last-traffic', value: String(T / 1000) }] }]]);
    expect(sent(scheduler)).toEqual([]);
  });

  it('keeps its schedule when the update fails, so the next minute tries again', async () => {
    describing(svc(DB, { desired: 1, running: 1, tags: { 'kinto:last-traffic': '1' } }));
    ecs.on(UpdateServiceCommand).rejects(new Error('Rate exceeded'));
    await expect(reap()).rejects.toThrow('Rate exceeded');
    expect(sent(scheduler)).toEqual([]);
  });

  describe('Handler: service-reaper', () => {
    it('acts only on a Kinto service ARN from its schedule', async () => {
      const lines: string[] = [];
      const handler = createServiceReaperHandler({ fleet: fleet(), schedules: schedules(), now: () => now }, (l) => lines.push(l));
      for (const input of [
        {},
        { service: 'arn:aws:ecs:eu-west-1:123456789012:service/Kinto-BlocksCluster/production-db' },
        null,
        { service: 42 },
      ])
        expect(await handler(input)).toEqual({ outcome: 'refused' });
      expect(sent(ecs)).toEqual([]);
      describing(svc(DB, { desired: 0 }));
      expect(await handler({ service: DB })).toEqual({ outcome: 'asleep' });
      expect(lines.filter((l) => l.includes('refused'))).toHaveLength(4);
    });
  });
});

describe('Class: AwsRuntime, Method: runJob', () => {
  const job = { block: { name: 'migrate', type: 'job' } } as unknown as PlannedBlock;
  const run = { id: 'run-1', trigger: 'pre-deploy' } as unknown as JobRun;
  const planWith = (...blocks: { name: string; type: string }[]) =>
    ({ environment: { id: ENV }, blocks: [...blocks.map((block) => ({ block })), job] }) as unknown as DeploymentPlan;
  /** A runtime that keeps services awake every 40 ms; its clock moves 20 s on at each look, as between two real ticks. */
  const runtime = () =>
    new AwsRuntime({
      lambda: new LambdaClient({ region: 'eu-west-1' }),
      cloudformation: new CloudFormationClient({ region: 'eu-west-1' }),
      logs: new CloudWatchLogsClient({ region: 'eu-west-1' }),
      internalKey: () => Promise.resolve('k'),
      serviceStarter: new ServiceStarter({ fleet: fleet(), schedules: schedules(), now: () => (now += 20_000) }),
      serviceKeepAwakeMs: 40,
    });
  const traffic = () => ecsWrites().filter(([name]) => name === 'TagResource').length;
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  /** The job runs until traffic was recorded `times` times (at most 5 s, however loaded the machine), then answers. */
  const jobUntil = (times: number, answer: Record<string, unknown>) =>
    lambda.on(InvokeCommand).callsFake(async () => {
      for (let waited = 0; traffic() < times && waited < 5000; waited += 10) await sleep(10);
      return { StatusCode: 200, ...answer };
    });

  beforeEach(() => {
    lambda.reset();
    listing(DB);
    // Its traffic was last recorded when the job started (T): each look 20 s later records it again.
    ecs
      .on(DescribeServicesCommand)
      .resolves({ services: [svc(DB, { desired: 1, running: 1, tags: { 'kinto:last-traffic': String(T / 1000) } })] });
  });

  it("records traffic on the environment's custom services from a job's start and while it runs, and stops when it ends", async () => {
    jobUntil(3, { Payload: Buffer.from(JSON.stringify({ exitCode: 0 })) });
    expect(await runtime().runJob(planWith({ name: 'db', type: 'custom-service' }), job, run)).toEqual({
      status: 'succeeded',
      exitCode: 0,
    });
    // A job longer than a service's idle time would otherwise lose the service under it.
    const during = traffic();
    expect(during).toBeGreaterThanOrEqual(3);
    expect(ecsWrites().every(([name, input]) => name === 'TagResource' && input.resourceArn === DB)).toBe(true);
    await sleep(150);
    expect(traffic()).toBe(during);
  });

  it('keeps awake through a failed job too, and asks ECS nothing in an environment without custom services', async () => {
    jobUntil(1, { FunctionError: 'Unhandled', Payload: Buffer.from(JSON.stringify({ errorMessage: 'boom' })) });
    expect(await runtime().runJob(planWith({ name: 'db', type: 'custom-service' }), job, run)).toMatchObject({ status: 'failed' });
    expect(traffic()).toBeGreaterThanOrEqual(1);
    ecs.resetHistory();
    jobUntil(0, { Payload: Buffer.from(JSON.stringify({ exitCode: 0 })) });
    const quiet = runtime().runJob(planWith({ name: 'api', type: 'microservice' }), job, run);
    expect(await quiet).toMatchObject({ status: 'succeeded' });
    await sleep(100);
    expect(sent(ecs)).toEqual([]);
  });
});

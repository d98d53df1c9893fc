import middy from '@middy/core';
import { ECSClient } from '@aws-sdk/client-ecs';
import { SchedulerClient } from '@aws-sdk/client-scheduler';
import type { Context } from 'aws-lambda';
import { reapService, type ReapOptions, type ReapOutcome } from '../adapters/aws/services/reap-service';
import { SchedulerReaperSchedules } from '../adapters/aws/services/reaper-schedules';
import { EcsServiceFleet } from '../adapters/aws/services/service-fleet';
import { requiredEnv } from './required-env';
import { SERVICE_SLEEP_ENV } from './services/service-sleep-env';

/** `arn:<partition>:ecs:<region>:<account>:service/<cluster>/kinto-<12>-<block>`: the only input a reaper schedule sends. */
const SERVICE_ARN = /^arn:aws[a-z-]*:ecs:[a-z0-9-]+:\d{12}:service\/[A-Za-z0-9_-]+\/kinto-[A-Za-z0-9]{12}-[a-z][a-z0-9-]{0,31}$/;

/**
 * The service reaper, invoked every minute by the reaper schedule of each awake service with
 * `{ "service": "<ECS service ARN>" }`. Input that is not a Kinto service is refused (and logged),
 * never acted on.
 */
export function createServiceReaperHandler(
  options: ReapOptions,
  write: (line: string) => void = (l) => void process.stdout.write(`${l}\n`),
) {
  return async (event: unknown): Promise<{ outcome: ReapOutcome | 'refused' }> => {
    const service = (event as { service?: unknown } | null)?.service;
    if (typeof service !== 'string' || !SERVICE_ARN.test(service)) {
      write(JSON.stringify({ level: 'error', message: 'reaper input refused: expected { "service": "<Kinto ECS service ARN>" }' }));
      return { outcome: 'refused' };
    }
    const outcome = await reapService(service, options);
    if (outcome !== 'awake') write(JSON.stringify({ level: 'info', message: 'service reaped', service, outcome }));
    return { outcome };
  };
}

let reaper: ReturnType<typeof createServiceReaperHandler> | undefined;
function defaultHandler(): ReturnType<typeof createServiceReaperHandler> {
  reaper ??= createServiceReaperHandler({
    fleet: new EcsServiceFleet(new ECSClient({}), requiredEnv(SERVICE_SLEEP_ENV.clusterArn)),
    // It only removes schedules: no target, so no reference to itself.
    schedules: new SchedulerReaperSchedules(new SchedulerClient({}), { groupName: requiredEnv(SERVICE_SLEEP_ENV.scheduleGroup) }),
  });
  return reaper;
}

const handlerFn = async (event: unknown, _context: Context) => defaultHandler()(event);

export const handler = middy(handlerFn);

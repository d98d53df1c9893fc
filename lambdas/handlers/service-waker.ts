import middy from '@middy/core';
import { ECSClient } from '@aws-sdk/client-ecs';
import { SchedulerClient } from '@aws-sdk/client-scheduler';
import type { CloudWatchLogsEvent, Context } from 'aws-lambda';
import { parseLogGroupName } from '../core/logs/log-groups';
import { SchedulerReaperSchedules } from '../adapters/aws/services/reaper-schedules';
import { EcsServiceFleet } from '../adapters/aws/services/service-fleet';
import { ServiceWaker, type WakeResult } from '../adapters/aws/services/wake-services';
import { decodeSubscription } from './logs/decode-subscription';
import { requiredEnv } from './required-env';
import { SERVICE_SLEEP_ENV } from './services/service-sleep-env';

export interface ServiceWakerHandlerResult {
  readonly status: 'woken' | 'control' | 'corrupt' | 'unknown-group' | 'empty';
  readonly result?: WakeResult;
}

/**
 * The service waker for CloudWatch Logs subscription batches from environments' function log
 * groups (their `START` lines): the environment comes from the group's name, the traffic time
 * from the newest event. Bad input is logged and dropped (retrying it would not help); a failed
 * ECS or Scheduler call throws, so Lambda retries the asynchronous invocation.
 */
export function createServiceWakerHandler(waker: ServiceWaker, write: (line: string) => void = (l) => void process.stdout.write(`${l}\n`)) {
  const log = (level: 'info' | 'warn' | 'error', message: string, fields: Record<string, unknown>) =>
    write(JSON.stringify({ level, message, ...fields }));
  return async (event: CloudWatchLogsEvent): Promise<ServiceWakerHandlerResult> => {
    const decoded = decodeSubscription(event);
    if (!decoded.ok) {
      log('error', 'batch ignored: corrupt payload', { reason: decoded.reason });
      return { status: 'corrupt' };
    }
    const { batch } = decoded;
    if (batch.messageType !== 'DATA_MESSAGE') return { status: 'control' };
    const source = parseLogGroupName(batch.logGroup);
    if (!source) {
      log('warn', 'batch ignored: not a Kinto log group', { logGroup: batch.logGroup.slice(0, 512) });
      return { status: 'unknown-group' };
    }
    if (batch.logEvents.length === 0) return { status: 'empty' };
    const trafficAtMs = Math.max(...batch.logEvents.map((e) => e.timestamp));
    const result = await waker.wake(source.envId, trafficAtMs);
    if (!result.skipped && result.services.some((s) => s.action !== 'awake'))
      log('info', 'services checked', { envId: result.envId, logGroup: batch.logGroup, services: result.services });
    return { status: 'woken', result };
  };
}

// Lambda entry point: clients and the waker's memory once per container.
let wakerHandler: ReturnType<typeof createServiceWakerHandler> | undefined;
function defaultHandler(): ReturnType<typeof createServiceWakerHandler> {
  wakerHandler ??= createServiceWakerHandler(
    new ServiceWaker({
      fleet: new EcsServiceFleet(new ECSClient({}), requiredEnv(SERVICE_SLEEP_ENV.clusterArn)),
      schedules: new SchedulerReaperSchedules(new SchedulerClient({}), {
        groupName: requiredEnv(SERVICE_SLEEP_ENV.scheduleGroup),
        target: {
          reaperFunctionArn: requiredEnv(SERVICE_SLEEP_ENV.reaperFunctionArn),
          roleArn: requiredEnv(SERVICE_SLEEP_ENV.reaperRoleArn),
        },
      }),
    }),
  );
  return wakerHandler;
}

const handlerFn = async (event: CloudWatchLogsEvent, _context: Context): Promise<ServiceWakerHandlerResult> => defaultHandler()(event);

export const handler = middy(handlerFn);

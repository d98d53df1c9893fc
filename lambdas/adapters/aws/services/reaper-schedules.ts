import {
  ConflictException,
  CreateScheduleCommand,
  DeleteScheduleCommand,
  ResourceNotFoundException,
  type SchedulerClient,
} from '@aws-sdk/client-scheduler';
import { reaperScheduleNameOf } from './service-names';

/** The reaper's schedule of each awake service: it exists while the service is awake, never while it sleeps. */
export interface ReaperSchedules {
  /** Makes sure the reaper looks at the service every minute (idempotent). */
  ensure(service: { arn: string; name: string }): Promise<'created' | 'exists'>;
  /** The reaper stops looking at the service (idempotent). */
  remove(serviceName: string): Promise<void>;
}

export interface SchedulerReaperSchedulesOptions {
  /** The platform's schedule group for reaper schedules (nothing else is in it). */
  readonly groupName: string;
  /** What the schedules invoke, and with which role: needed to make them (the waker), not to remove them (the reaper). */
  readonly target?: {
    /** The reaper Lambda. */
    readonly reaperFunctionArn: string;
    /** The role EventBridge Scheduler invokes the reaper with. */
    readonly roleArn: string;
  };
}

/** How often the reaper looks at an awake service. */
export const REAPER_RATE = 'rate(1 minute)';

/**
 * `ReaperSchedules` on EventBridge Scheduler: one `rate(1 minute)` schedule per awake service,
 * named after it, in the platform's reaper group; its input names the service. Created by the
 * waker when it wakes a service, deleted by the reaper when the service sleeps (or is gone), so
 * nothing runs, nor bills, while every service sleeps.
 */
export class SchedulerReaperSchedules implements ReaperSchedules {
  constructor(
    private readonly scheduler: SchedulerClient,
    private readonly o: SchedulerReaperSchedulesOptions,
  ) {}

  async ensure(service: { arn: string; name: string }): Promise<'created' | 'exists'> {
    const target = this.o.target;
    if (!target)
      throw new Error('SchedulerReaperSchedules: no target (reaper function and role) was given, so schedules can only be removed');
    try {
      await this.scheduler.send(
        new CreateScheduleCommand({
          Name: reaperScheduleNameOf(service.name),
          GroupName: this.o.groupName,
          Description: `Kinto: puts custom service ${service.name} to sleep once it has been idle long enough`,
          ScheduleExpression: REAPER_RATE,
          FlexibleTimeWindow: { Mode: 'OFF' },
          State: 'ENABLED',
          Target: {
            Arn: target.reaperFunctionArn,
            RoleArn: target.roleArn,
            Input: JSON.stringify({ service: service.arn }),
            // The next minute's run is the retry.
            RetryPolicy: { MaximumRetryAttempts: 0 },
          },
        }),
      );
      return 'created';
    } catch (e) {
      if (e instanceof ConflictException) return 'exists';
      throw e;
    }
  }

  async remove(serviceName: string): Promise<void> {
    try {
      await this.scheduler.send(new DeleteScheduleCommand({ Name: reaperScheduleNameOf(serviceName), GroupName: this.o.groupName }));
    } catch (e) {
      if (!(e instanceof ResourceNotFoundException)) throw e;
    }
  }
}

/** Variables the ServiceWaker construct (lib/service-waker.ts) sets on the waker and reaper Lambdas. */
export const SERVICE_SLEEP_ENV = {
  /** The ECS cluster custom services run in. */
  clusterArn: 'CLUSTER_ARN',
  /** The reaper Lambda, which the reaper schedules invoke (the waker's; the reaper only removes schedules). */
  reaperFunctionArn: 'REAPER_FUNCTION_ARN',
  /** The role EventBridge Scheduler invokes the reaper with (the waker's). */
  reaperRoleArn: 'REAPER_ROLE_ARN',
  /** The schedule group that holds one reaper schedule per awake service. */
  scheduleGroup: 'REAPER_SCHEDULE_GROUP',
} as const;

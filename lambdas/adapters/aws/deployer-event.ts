import { z } from 'zod';

/**
 * What the deployer Lambda is asked to do, by whom:
 * - `advance` / `abort`: the deployer state machine, until the deployment ends (or its execution failed);
 * - `job-run`: the control API, for a manual run it recorded;
 * - `cron`: EventBridge Scheduler, at a job's schedule (the run is recorded then);
 * - `stop` / `remove`: the control API, when an environment is shut down or deleted.
 */
export const deployerEvent = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('advance'), envId: z.string().min(1), deploymentId: z.string().min(1) }),
  z.object({ kind: z.literal('abort'), envId: z.string().min(1), deploymentId: z.string().min(1), error: z.unknown().optional() }),
  z.object({ kind: z.literal('job-run'), envId: z.string().min(1), job: z.string().min(1), runId: z.string().min(1) }),
  z.object({ kind: z.literal('cron'), envId: z.string().min(1), job: z.string().min(1) }),
  z.object({ kind: z.literal('stop'), envId: z.string().min(1) }),
  z.object({ kind: z.literal('remove'), envId: z.string().min(1) }),
]);

export type DeployerEvent = z.infer<typeof deployerEvent>;

/** What `advance` answers the state machine: end (`done`), or wait `checkAfterSeconds` and ask again. */
export interface AdvanceAnswer {
  readonly done: boolean;
  readonly checkAfterSeconds: number;
}

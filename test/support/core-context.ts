import type { BuildEvent } from '../../lambdas/core/builds';
import { recordBuildEvent } from '../../lambdas/core/builds';
import type { CoreContext } from '../../lambdas/core/context';
import type { KintoError } from '../../lambdas/core/errors';
import type { Build } from '../../lambdas/core/model';
import { randomIds, systemClock } from '../../lambdas/adapters/clock-and-ids';
import type { Builder, BuildRequest } from '../../lambdas/ports/builder';
import { advanceDeployment } from '../../lambdas/core/deployments/run-deployment';
import { carryOutJobRun } from '../../lambdas/core/jobs/job-runs';
import type { JobRun } from '../../lambdas/core/model';
import type { Deployer } from '../../lambdas/ports/deployer';
import type {
  Activated,
  DeploymentPlan,
  JobLogChunk,
  JobOutcome,
  PlannedBlock,
  PreparedBlock,
  Runtime,
  StepProgress,
} from '../../lambdas/ports/runtime';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { startTestStore } from './dynalite-store';

/** A Runtime port double that records what the core asked of it (and can be told to fail). */
export class RecordingRuntime implements Runtime {
  readonly calls: { op: 'prepare' | 'activate' | 'stop' | 'runJob'; envId: string; release?: string; block?: string }[] = [];
  failPrepareWith?: Error;
  /** How each job run ends (by job name); default: succeeded. */
  readonly jobOutcomes = new Map<string, JobOutcome>();

  async prepare(plan: DeploymentPlan, block: PlannedBlock): Promise<StepProgress<PreparedBlock>> {
    const last = this.calls.at(-1);
    // One entry per deployment's prepare phase (the blocks of one release are prepared in a row).
    if (!(last?.op === 'prepare' && last.envId === plan.environment.id && last.release === plan.release.version)) {
      this.calls.push({ op: 'prepare', envId: plan.environment.id, release: plan.release.version });
    }
    if (this.failPrepareWith) throw this.failPrepareWith;
    return { done: true, result: { block: block.block.name } };
  }
  async activate(plan: DeploymentPlan): Promise<StepProgress<Activated>> {
    this.calls.push({ op: 'activate', envId: plan.environment.id, release: plan.release.version });
    return { done: true, result: {} };
  }
  async runJob(plan: DeploymentPlan, job: PlannedBlock, _run: JobRun): Promise<JobOutcome> {
    this.calls.push({ op: 'runJob', envId: plan.environment.id, release: plan.release.version, block: job.block.name });
    return this.jobOutcomes.get(job.block.name) ?? { status: 'succeeded', exitCode: 0 };
  }
  async readJobLog(): Promise<JobLogChunk> {
    return { text: '', nextOffset: 0 };
  }
  async stop(envId: string): Promise<void> {
    this.calls.push({ op: 'stop', envId });
  }
  gatewayUrl(env: { id: string }): string {
    return `http://gateway.test/gw/${env.id}`;
  }
}

/** Carries out deployments and runs inside the request, so that a core call returns what ended. */
export function inlineDeployer(ctx: () => CoreContext): Deployer {
  return {
    start: async (envId, id) => {
      for (let next = await advanceDeployment(ctx(), envId, id); !next.done; next = await advanceDeployment(ctx(), envId, id)) {
        await new Promise((r) => setTimeout(r, next.checkAfterMs));
      }
    },
    runJob: async (envId, job, runId) => void (await carryOutJobRun(ctx(), envId, job, runId)),
  };
}

/** A Builder port double: accepts builds; the test decides how they end via `finish`. */
export class ManualBuilder implements Builder {
  readonly requests: BuildRequest[] = [];
  async start(request: BuildRequest): Promise<void> {
    this.requests.push(request);
  }
  async readLog(): Promise<{ text: string; nextOffset: number }> {
    return { text: '', nextOffset: 0 };
  }
}

export interface TestCore {
  ctx: CoreContext;
  runtime: RecordingRuntime;
  builder: ManualBuilder;
  /** Ends a build as the builder would report it. */
  finish(build: Pick<Build, 'blockId' | 'id'>, event?: BuildEvent): Promise<Build>;
  /** Every raw key in the table (to look for orphans behind the store's back). */
  scanKeys(): Promise<{ pk: string; sk: string }[]>;
  close(): Promise<void>;
}

/** The real core on a real DynamoDB API (dynalite), with port doubles for runtime and builder. */
export async function startTestCore(options: { keys?: boolean } = {}): Promise<TestCore> {
  const { store, close, dynamo, tableName } = await startTestStore();
  const runtime = new RecordingRuntime();
  const builder = new ManualBuilder();
  const ctx: CoreContext = {
    store,
    clock: systemClock,
    ids: randomIds,
    runtime,
    builder,
    deployer: inlineDeployer(() => ctx),
    ...(options.keys ? { keys: { material: async () => Buffer.alloc(32, 7) } } : {}),
  };
  return {
    ctx,
    runtime,
    builder,
    finish: (build, event = { status: 'succeeded', commit: 'a'.repeat(40), artifact: '/tmp/artifact' }) =>
      recordBuildEvent(ctx, build, event),
    scanKeys: async () => {
      const out = await dynamo.client.send(new ScanCommand({ TableName: tableName, ProjectionExpression: 'pk, sk' }));
      return (out.Items ?? []).map((i) => ({ pk: i.pk.S!, sk: i.sk.S! }));
    },
    close,
  };
}

/** The error a core call rejects with (fails the test when it resolves). */
export async function rejects(promise: Promise<unknown>): Promise<KintoError> {
  try {
    await promise;
  } catch (e) {
    return e as KintoError;
  }
  throw new Error('expected a rejection');
}

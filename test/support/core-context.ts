import type { BuildEvent } from '../../lambdas/core/builds';
import { recordBuildEvent } from '../../lambdas/core/builds';
import type { CoreContext } from '../../lambdas/core/context';
import type { Build } from '../../lambdas/core/model';
import { randomIds, systemClock } from '../../lambdas/adapters/clock-and-ids';
import type { Builder, BuildRequest } from '../../lambdas/ports/builder';
import type { DeploymentPlan, Runtime } from '../../lambdas/ports/runtime';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { startTestStore } from './dynalite-store';

/** A Runtime port double that records what the core asked of it (and can be told to fail). */
export class RecordingRuntime implements Runtime {
  readonly calls: { op: 'prepare' | 'activate' | 'stop'; envId: string; release?: string }[] = [];
  failPrepareWith?: Error;

  async prepare(plan: DeploymentPlan): Promise<void> {
    this.calls.push({ op: 'prepare', envId: plan.environment.id, release: plan.release.version });
    if (this.failPrepareWith) throw this.failPrepareWith;
  }
  async activate(plan: DeploymentPlan): Promise<void> {
    this.calls.push({ op: 'activate', envId: plan.environment.id, release: plan.release.version });
  }
  async stop(envId: string): Promise<void> {
    this.calls.push({ op: 'stop', envId });
  }
  gatewayUrl(env: { id: string }): string {
    return `http://gateway.test/gw/${env.id}`;
  }
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
export async function startTestCore(): Promise<TestCore> {
  const { store, close, dynamo, tableName } = await startTestStore();
  const runtime = new RecordingRuntime();
  const builder = new ManualBuilder();
  const ctx: CoreContext = { store, clock: systemClock, ids: randomIds, runtime, builder };
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

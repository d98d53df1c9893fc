import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import { ExecutionAlreadyExists, StartExecutionCommand, type SFNClient } from '@aws-sdk/client-sfn';
import type { Deployer } from '../../ports/deployer';
import type { DeployerEvent } from './deployer-event';

export interface StepFunctionsDeployerOptions {
  readonly sfn: SFNClient;
  readonly lambda: LambdaClient;
  /** The state machine that advances a deployment until it ends (lib/environment-deployer.ts). */
  readonly stateMachineArn: string;
  /** The deployer Lambda (manual job runs, shut-downs and removals). */
  readonly deployerFunctionName: string;
}

/**
 * The Deployer port on AWS. A deployment is an execution of the deployer state machine, named
 * after the deployment: starting it twice starts it once, and its waits ("check later") cost
 * nothing while CloudFormation or Lambda work. A manual job run is an asynchronous invocation of
 * the deployer Lambda (Lambda retries it; the core records a run once).
 */
export class StepFunctionsDeployer implements Deployer {
  constructor(private readonly o: StepFunctionsDeployerOptions) {}

  async start(envId: string, deploymentId: string): Promise<void> {
    const input: DeployerEvent = { kind: 'advance', envId, deploymentId };
    try {
      await this.o.sfn.send(
        new StartExecutionCommand({ stateMachineArn: this.o.stateMachineArn, name: deploymentId, input: JSON.stringify(input) }),
      );
    } catch (e) {
      // Same name and input: the deployment is already being carried out.
      if (e instanceof ExecutionAlreadyExists || (e as Error).name === 'ExecutionAlreadyExists') return;
      throw e;
    }
  }

  async runJob(envId: string, job: string, runId: string): Promise<void> {
    await this.invoke({ kind: 'job-run', envId, job, runId });
  }

  /** Hands work the control API cannot do itself (it cannot synthesize stacks) to the deployer. */
  async invoke(event: DeployerEvent): Promise<void> {
    await this.o.lambda.send(
      new InvokeCommand({
        FunctionName: this.o.deployerFunctionName,
        InvocationType: 'Event',
        Payload: Buffer.from(JSON.stringify(event)),
      }),
    );
  }
}

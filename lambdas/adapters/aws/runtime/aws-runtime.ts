import { KintoError } from '../../../core/errors';
import type { Environment } from '../../../core/model';
import type { Activated, JobLogChunk, JobOutcome, PreparedBlock, Runtime, StepProgress } from '../../../ports/runtime';

/** Why a deploy on AWS is refused until the deployer exists; the core passes it on to the caller. */
export const DEPLOYER_PENDING =
  'deploying blocks on AWS comes with the deployer (the "Blocks on AWS" issue): this installation has the control plane, ' +
  'builds, gateway auth and logs, but nothing that runs blocks yet. Deploy with the local platform (npm start) until then';

const pending = () => new KintoError(501, 'DEPLOYER_NOT_AVAILABLE', DEPLOYER_PENDING);

/**
 * The Runtime port on AWS, for now: Lambda image functions, Fargate services and each
 * environment's stack come with the deployer. Until then every step is refused with a clear reason,
 * and stopping an environment succeeds because nothing runs.
 */
export class AwsRuntime implements Runtime {
  async prepare(): Promise<StepProgress<PreparedBlock>> {
    throw pending();
  }

  async activate(): Promise<StepProgress<Activated>> {
    throw pending();
  }

  async runJob(): Promise<JobOutcome> {
    throw pending();
  }

  async readJobLog(): Promise<JobLogChunk> {
    return { text: '', nextOffset: 0 };
  }

  async stop(): Promise<void> {
    // Nothing runs on AWS before the deployer: shutting down or deleting an environment has nothing to release.
  }

  gatewayUrl(env: Environment): string | undefined {
    return env.gatewayUrl;
  }
}

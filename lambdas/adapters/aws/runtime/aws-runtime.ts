import { KintoError } from '../../../core/errors';
import type { Environment } from '../../../core/model';
import type { Runtime } from '../../../ports/runtime';

/** Why a deploy on AWS is refused until the deployer exists; the core passes it on to the caller. */
export const DEPLOYER_PENDING =
  'deploying blocks on AWS comes with the deployer (the "AWS build and deploy" issue): this installation has the control plane, ' +
  'builds, gateway auth and logs, but nothing that runs blocks yet. Deploy with the local platform (npm start) until then';

/**
 * The Runtime port on AWS, for now: the per-environment deployer Lambda (Lambda image functions,
 * Fargate services, the environment's HTTP API) is a later issue. Until it lands, deploys are
 * refused with a clear reason, and stopping an environment succeeds because nothing runs.
 */
export class AwsRuntime implements Runtime {
  async prepare(): Promise<void> {
    throw new KintoError(501, 'DEPLOYER_NOT_AVAILABLE', DEPLOYER_PENDING);
  }

  async activate(): Promise<void> {
    throw new KintoError(501, 'DEPLOYER_NOT_AVAILABLE', DEPLOYER_PENDING);
  }

  async stop(): Promise<void> {
    // Nothing runs on AWS before the deployer: shutting down or deleting an environment has nothing to release.
  }

  gatewayUrl(_env: Environment): string | undefined {
    return undefined;
  }
}

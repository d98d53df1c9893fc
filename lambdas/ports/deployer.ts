/**
 * Carries out what the control API records and answers at once (202): deployments and manual job
 * runs. Locally a loop in the platform process; on AWS the deployer Lambda, invoked
 * asynchronously (and again whenever a deployment step asks to be checked later). Either way it
 * runs the core: `advanceDeployment` until the deployment ends, `carryOutJobRun` for a run.
 */
export interface Deployer {
  /** Starts (or resumes) carrying out a recorded deployment; resolves once it is handed over, not when it ends. */
  start(envId: string, deploymentId: string): Promise<void>;
  /** Carries out a recorded manual run of a job; resolves once it is handed over. */
  runJob(envId: string, job: string, runId: string): Promise<void>;
}

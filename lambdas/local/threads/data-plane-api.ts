import type { ClientStatus } from '../../core/auth/verify-token';
import type { EnvironmentState } from '../../core/deployments/environment-state';
import type { DeploymentPlan, PlannedBlock } from '../../ports/runtime';
import type { LogFeedStats } from '../../adapters/local/logs/log-feed';
import type { AuthorizeAnswerer } from '../gateway/authorize-route';

/** What the data plane's thread serves to the control plane (data-plane-worker.ts). */
export interface DataPlaneApi {
  /** Starts serving the platform's port; requests for the control plane go to `controlPort`. Returns the port. */
  open(controlPort: number): Promise<number>;
  /** Checks that one block of a plan can run here (idempotent). */
  prepare(block: PlannedBlock): Promise<void>;
  /** Serves the plan from now on (idempotent for one deployment). */
  activate(plan: DeploymentPlan): Promise<void>;
  stop(envId: string): Promise<void>;
  /** The addresses of a plan's custom services (block name -> loopback port), serving them if need be: for its jobs. */
  servicePorts(plan: DeploymentPlan): Promise<Record<string, number>>;
  /** A client was rotated or revoked: the gateways drop its cached tokens. */
  forgetClient(envId: string, clientId: string): void;
  flushLogs(): Promise<void> | undefined;
  logStats(): Promise<LogFeedStats> | undefined;
  close(): Promise<void>;
}

/** What the control plane serves to the data plane (data-plane-client.ts): only what the store knows. */
export interface ControlPlaneApi {
  /** The data plane is up. */
  ready(): void;
  load(envId: string): Promise<EnvironmentState>;
  /** Only what the token verifier needs crosses: never the secret's hash. */
  clientStatus(envId: string, clientId: string): Promise<ClientStatus | undefined>;
  authorize: AuthorizeAnswerer;
}

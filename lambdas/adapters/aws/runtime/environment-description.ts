import type { Visibility } from '../../../core/model';
import type { ServicePlatformRefs } from '../services/service-refs';

/**
 * What one environment's CloudFormation stack is built from (`KintoEnvironmentStack` in lib/):
 * plain data, so that the deployer can build it from a deployment plan, and a reviewer can write
 * one by hand (`npm run render-environment -- env.json` prints the template it makes).
 *
 * Values that change with every release without changing the infrastructure (each function's image,
 * the version its alias serves) and secrets are the stack's parameters, not part of the template:
 * the deployer passes them on every stack update (NoEcho for secrets), so a later update never
 * reverts what a faster path (an alias move) did, and no secret is written into a template.
 */
export interface EnvironmentDescription {
  readonly envId: string;
  readonly project: string;
  readonly environment: string;
  /** The platform's parts the environment uses (from the platform stack). */
  readonly platform: PlatformRefs;
  /** Shut down: no block functions, no schedules; every request answers 503 (the gateway function). */
  readonly shutDown?: boolean;
  /** The release the environment runs (in access log lines and the dashboard). */
  readonly release?: string;
  readonly blocks: readonly EnvironmentBlock[];
  /**
   * Requests per second (steady, burst) for the stage: the gateway's answer to a flood is a 429,
   * not a bill. @default { rate: 100, burst: 200 }
   */
  readonly throttle?: { readonly rate: number; readonly burst: number };
}

export interface PlatformRefs {
  /** The gateway function: answers `POST /authorize`, and 503 for a shut-down environment. */
  readonly gatewayFunctionArn: string;
  /** The Lambda authorizer of protected routes (and of password-protected websites). */
  readonly authorizerFunctionArn: string;
  /** The log indexer every log group of the environment is subscribed to. */
  readonly logIndexerFunctionArn: string;
  /** The deployer: EventBridge Scheduler invokes it for cron runs (it records them). */
  readonly deployerFunctionArn: string;
  /** The image repository blocks' images are pulled from. */
  readonly imageRepositoryArn: string;
  /** Where the environment's functions and schedules get their roles' permission boundary, if any. */
  readonly permissionsBoundaryArn?: string;
  /**
   * Where custom services run (cluster, VPC, file system, namespace, waker): given to environments
   * that have a custom service, left out of the others (their shape does not change with it).
   */
  readonly services?: ServicePlatformRefs;
}

/** One block as its environment runs it. */
export interface EnvironmentBlock {
  readonly name: string;
  readonly type: 'website' | 'microservice' | 'custom-service' | 'job';
  readonly kind?: string;
  /** Cron jobs: the 5-field expression (UTC). */
  readonly schedule?: string;
  readonly visibility: Visibility;
  readonly memoryMb: number;
  /** Jobs: seconds a run may take (at most 900). */
  readonly timeoutSeconds?: number;
  /** Plain variables (secrets are parameters: `secretNames`). */
  readonly variables: Readonly<Record<string, string>>;
  /** Names of the block's secret variables (each a NoEcho parameter). */
  readonly secretNames?: readonly string[];
  /** Password-protected websites: the username and the scrypt hash the authorizer checks. */
  readonly basicAuth?: { readonly username: string; readonly passwordHash: string };
  /** The build commit (access log lines carry it). */
  readonly commit?: string;
  /** Port the block listens on when it ignores PORT. @default 8080 */
  readonly port?: number;
  /**
   * Custom services: the image (also the `Image<Block>` parameter). Part of the stack's shape,
   * since a task definition names its image (functions' images are not: they take the fast path).
   */
  readonly image?: string;
  /** Custom services: seconds without traffic before the service is stopped (at least 60 on AWS). @default 300 */
  readonly idleSeconds?: number;
  /** Custom services: kept running (desired count 1), never stopped for being idle. @default false */
  readonly alwaysOn?: boolean;
  /**
   * Custom services: a digest of the secret values. A task definition holds its variables, so a
   * changed secret is a stack update (functions get theirs on the fast path).
   */
  readonly secretDigest?: string;
}

/** The template parameters of an environment stack, by what they stand for. */
export const stackParameters = {
  /** The image a block's function runs: `<repository>@sha256:...`. */
  image: (block: string) => `Image${pascal(block)}`,
  /** The version a block's `live` alias serves (a number; `$LATEST` until the first is published). */
  version: (block: string) => `Version${pascal(block)}`,
  /** A secret variable of a block. */
  secret: (block: string, name: string) => `Secret${pascal(block)}${name.replace(/[^A-Za-z0-9]/g, '')}${shortHash(`${block}/${name}`)}`,
  /** The environment's internal entry key (blocks reach each other at `/_internal/<key>/<block>`). */
  internalKey: 'InternalKey',
} as const;

/** The alias every block function serves through: routes and invocations name it, deploys move it. */
export const LIVE_ALIAS = 'live';

/** `kinto-<first 12 of the environment id>-<block>`: at most 51 characters (Lambda allows 64). */
export const functionNameOf = (envId: string, block: string): string => `kinto-${envId.slice(0, 12)}-${block}`;

/** `kinto-env-<environment id>`. */
export const stackNameOf = (envId: string): string => `kinto-env-${envId}`;

/** Stack outputs the deployer reads. */
export const stackOutputs = { gatewayUrl: 'GatewayUrl', shape: 'KintoShape', deployment: 'KintoDeployment' } as const;

function pascal(name: string): string {
  return name
    .split('-')
    .map((p) => p.charAt(0).toUpperCase() + p.slice(1))
    .join('');
}

function shortHash(s: string): string {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619) >>> 0;
  return h.toString(36);
}

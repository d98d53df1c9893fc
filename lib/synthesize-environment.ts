import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
// aws-cdk-lib/core, not the root module: a bundle then holds only the modules the stack uses.
import { App } from 'aws-cdk-lib/core';
import type { EnvironmentDescription } from '../lambdas/adapters/aws/runtime/environment-description';
import { KintoEnvironmentStack } from './environment-stack';

/**
 * CloudFormation's limit on a template passed through S3 (`TemplateURL`); passed inline
 * (`TemplateBody`) the limit is 51,200 bytes, which an environment of two or three blocks exceeds.
 */
export const MAX_TEMPLATE_BYTES = 1_000_000;

export interface SynthesizeEnvironmentOptions {
  /** The deployment the template is made for (stack output `KintoDeployment`). */
  readonly deploymentId: string;
  /** The deployer's fingerprint of the infrastructure (stack output `KintoShape`). */
  readonly shape: string;
  /**
   * Run aws-cdk-lib's built-in CloudFormation template validation (schemas of every resource
   * type). It loads a 9 MB WebAssembly module that must then sit beside a bundle
   * (`bindings_wasm_bg.wasm`); CloudFormation validates the template again when it is deployed.
   * @default false
   */
  readonly cloudFormationValidation?: boolean;
  /**
   * Called with the app and the stack before synthesis: the render command registers cdk-nag's
   * checks there (`Validations.of(app).addPlugins(...)`), which then fail synthesis on a finding.
   * @default - nothing
   */
  readonly beforeSynth?: (app: App, stack: KintoEnvironmentStack) => void;
}

export interface SynthesizedEnvironment {
  /** The stack's CloudFormation template. */
  readonly template: Record<string, unknown>;
  /** Names of the template's parameters (images, alias versions, secrets, the internal key). */
  readonly parameters: string[];
}

/**
 * One environment's CloudFormation template, from its description: a fresh CDK app synthesized
 * into a temporary folder under the OS's temp dir (Lambda's /tmp), removed afterwards. No AWS
 * calls, no assets, no telemetry, no version reporting: the deployer calls it at deploy time.
 *
 * @example
 * const { template, parameters } = synthesizeEnvironment(description, { deploymentId, shape });
 */
export function synthesizeEnvironment(description: EnvironmentDescription, options: SynthesizeEnvironmentOptions): SynthesizedEnvironment {
  const outdir = mkdtempSync(join(tmpdir(), 'kinto-env-synth-'));
  try {
    const app = new App({
      outdir,
      analyticsReporting: false,
      performanceReporting: false,
      treeMetadata: false,
      stackTraces: false,
      builtinCloudFormationValidation: options.cloudFormationValidation ?? false,
      context: { 'cli-telemetry': false },
    });
    const stack = new KintoEnvironmentStack(app, 'Environment', { description, deploymentId: options.deploymentId, shape: options.shape });
    options.beforeSynth?.(app, stack);
    const assembly = app.synth();
    const template = assembly.getStackArtifact(stack.artifactId).template as Record<string, unknown>;
    const parameters = Object.keys(template.Parameters ?? {});
    const bytes = Buffer.byteLength(JSON.stringify(template), 'utf8');
    if (bytes > MAX_TEMPLATE_BYTES) {
      throw new Error(
        `The template of environment ${description.project}/${description.environment} is ${bytes} bytes, over CloudFormation's ${MAX_TEMPLATE_BYTES} (a template in S3); split its blocks across two environments.`,
      );
    }
    return { template, parameters };
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

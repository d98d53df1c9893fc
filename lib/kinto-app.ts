import { App, Validations, type AppProps } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { KintoPlatformStack, type KintoPlatformStackProps } from './platform-stack';

export interface KintoAppOptions {
  /** @default - the CDK CLI's output folder (CDK_OUTDIR), else a temporary one */
  readonly outdir?: string;
  /** Extra context (tests pass `aws:cdk:bundling-stacks: []` to skip bundling). */
  readonly context?: AppProps['context'];
  /**
   * The stack's name; a second Kinto in the same account and region needs another one
   * (`npx cdk deploy -c stackName=KintoStaging`).
   * @default context `stackName`, else 'Kinto'
   */
  readonly stackName?: string;
  readonly stackProps?: KintoPlatformStackProps;
}

/**
 * The Kinto CDK app: the platform stack, checked by cdk-nag's AwsSolutions pack on every synth
 * (an unacknowledged finding fails `cdk synth` and `cdk deploy`). The stack has no env: it is
 * environment-agnostic, so synthesis never calls AWS.
 */
export function createKintoApp(options: KintoAppOptions = {}): { app: App; stack: KintoPlatformStack } {
  const app = new App({ outdir: options.outdir, context: options.context });
  const stackName = options.stackName ?? (app.node.tryGetContext('stackName') as string | undefined) ?? 'Kinto';
  if (!/^[A-Za-z][A-Za-z0-9-]{0,127}$/.test(stackName)) {
    throw new Error(`The stack name "${stackName}" is not valid: use letters, digits and hyphens, starting with a letter.`);
  }
  const stack = new KintoPlatformStack(app, stackName, options.stackProps);
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { app, stack };
}

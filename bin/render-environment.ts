#!/usr/bin/env -S npx tsx
/**
 * `npm run render-environment -- <description.json>`: prints the CloudFormation template a deploy
 * would create for one environment (see lambdas/adapters/aws/runtime/environment-description.ts
 * for the file's fields, bin/examples/environment.json for an example), checked by cdk-nag's
 * AwsSolutions pack. Offline: no AWS account, no credentials. A summary goes to stderr.
 */
import { readFileSync } from 'node:fs';
import { Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { Command } from 'commander';
import { stackNameOf, type EnvironmentDescription } from '../lambdas/adapters/aws/runtime/environment-description';
import { synthesizeEnvironment } from '../lib/synthesize-environment';

const program = new Command()
  .name('render-environment')
  .description("Print the CloudFormation template of one Kinto environment's stack, from a JSON description")
  .argument(
    '<description.json>',
    'the environment: project, environment, release, platform ARNs and blocks (see bin/examples/environment.json)',
  )
  .option('--deployment <id>', 'the deployment id the template names (output KintoDeployment)', 'rendered')
  .option('--shape <fingerprint>', 'the shape fingerprint the template names (output KintoShape)', 'rendered')
  .option('--validate', "also run aws-cdk-lib's CloudFormation schema validation (a few seconds more)", false)
  .option('--no-nag', "skip cdk-nag's AwsSolutions checks")
  .addHelpText('after', '\nExample:\n  $ npm run render-environment -- bin/examples/environment.json > template.json\n')
  .showHelpAfterError();

program.action((file: string, options: { deployment: string; shape: string; validate: boolean; nag: boolean }) => {
  let description: EnvironmentDescription;
  try {
    description = JSON.parse(readFileSync(file, 'utf8')) as EnvironmentDescription;
  } catch (e) {
    return fail(`cannot read ${file} as JSON: ${(e as Error).message}`);
  }
  if (
    typeof description !== 'object' ||
    description === null ||
    !Array.isArray(description.blocks) ||
    typeof description.platform !== 'object'
  ) {
    return fail(
      `${file} is not an environment description: it needs envId, project, environment, platform {...} and blocks [...] (see bin/examples/environment.json).`,
    );
  }
  let result: ReturnType<typeof synthesizeEnvironment>;
  try {
    result = synthesizeEnvironment(description, {
      deploymentId: options.deployment,
      shape: options.shape,
      cloudFormationValidation: options.validate,
      // An unacknowledged cdk-nag finding fails synthesis, with the report.
      beforeSynth: options.nag ? (app) => Validations.of(app).addPlugins(new AwsSolutionsChecks(app)) : undefined,
    });
  } catch (e) {
    return fail((e as Error).message);
  }
  process.stdout.write(`${JSON.stringify(result.template, null, 2)}\n`);

  const counts: Record<string, number> = {};
  for (const r of Object.values(result.template.Resources as Record<string, { Type: string }>)) counts[r.Type] = (counts[r.Type] ?? 0) + 1;
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  process.stderr.write(
    [
      `Stack ${stackNameOf(description.envId)} (${description.project}/${description.environment}${description.shutDown ? ', shut down' : ''}): ${total} resources, ${JSON.stringify(result.template).length} bytes of template`,
      ...Object.entries(counts)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([type, n]) => `  ${String(n).padStart(4)}  ${type}`),
      `Parameters the deployer passes: ${result.parameters.join(', ')}`,
      options.nag ? 'cdk-nag AwsSolutions: no unacknowledged finding' : 'cdk-nag: skipped',
      '',
    ].join('\n'),
  );
});

function fail(message: string): void {
  process.stderr.write(`render-environment: ${message}\n`);
  process.exitCode = 1;
}

program.parse();

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { BuildPipeline } from '../../lib/build-pipeline';
import { StateTable } from '../../lib/state-table';

type Statement = { Sid?: string; Action: string | string[]; Resource: unknown; Effect: string };

/** The build pipeline on its own: what job builds need (the runner asset) and what keeps images. */
describe('Construct: BuildPipeline', () => {
  const saved = { HOME: process.env.HOME, CDK_HOME: process.env.CDK_HOME };
  let home: string;
  let app: App;
  let pipeline: BuildPipeline;
  let template: Template;
  let resources: Record<string, { Type: string; Properties: Record<string, any> }>;
  const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);

  beforeAll(() => {
    // aws-cdk-lib caches asset fingerprints under HOME/CDK_HOME: keep them out of the real home.
    home = mkdtempSync(join(tmpdir(), 'kinto-cdk-home-'));
    process.env.HOME = process.env.CDK_HOME = home;
    app = new App({ outdir: join(home, 'out'), context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new Stack(app, 'Test');
    pipeline = new BuildPipeline(stack, 'Builds', { stateTable: new StateTable(stack, 'State') });
    template = Template.fromStack(stack);
    resources = template.toJSON().Resources;
  });
  afterAll(() => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    rmSync(home, { recursive: true, force: true });
  });

  describe('the job runner and request guard assets', () => {
    const assetHash = () => pipeline.jobRunner.assetHash;
    const objectArn = (hash = assetHash()) => ({
      'Fn::Join': [
        '',
        [
          'arn:',
          { Ref: 'AWS::Partition' },
          ':s3:::',
          { 'Fn::Sub': 'cdk-hnb659fds-assets-${AWS::AccountId}-${AWS::Region}' },
          `/${hash}.js`,
        ],
      ],
    });

    it("is the bundled runner: one small CommonJS file that needs only node's own modules", () => {
      const staged = join(app.outdir, `asset.${assetHash()}.js`);
      const code = readFileSync(staged, 'utf8');
      expect(code.length).toBeLessThan(32 * 1024);
      expect(code).toContain('runtime/invocation/next');
      const required = [...code.matchAll(/require\("([^"]+)"\)/g)].map((m) => m[1]).sort();
      expect([...new Set(required)]).toEqual(['node:child_process', 'node:http']);
    });

    it('reaches the build project as KINTO_JOB_RUNNER_S3_URL', () => {
      const [[, project]] = ofType('AWS::CodeBuild::Project');
      const variables = project.Properties.Environment.EnvironmentVariables as { Name: string; Value: unknown; Type: string }[];
      expect(variables.find((v) => v.Name === 'KINTO_JOB_RUNNER_S3_URL')).toEqual({
        Name: 'KINTO_JOB_RUNNER_S3_URL',
        Type: 'PLAINTEXT',
        Value: { 'Fn::Sub': `s3://cdk-hnb659fds-assets-\${AWS::AccountId}-\${AWS::Region}/${assetHash()}.js` },
      });
    });

    it('bundles the request guard as an executable extension that needs only node:http and node:stream, and hands it over as KINTO_REQUEST_GUARD_S3_URL', () => {
      const hash = pipeline.requestGuard.assetHash;
      const code = readFileSync(join(app.outdir, `asset.${hash}.js`), 'utf8');
      expect(code.startsWith('#!/opt/kinto/node\n')).toBe(true);
      expect(code).toContain('/2020-01-01/extension/');
      const required = [...code.matchAll(/require\("([^"]+)"\)/g)].map((m) => m[1]);
      expect([...new Set(required)].sort()).toEqual(['node:http', 'node:stream']);
      const [[, project]] = ofType('AWS::CodeBuild::Project');
      const variables = project.Properties.Environment.EnvironmentVariables as { Name: string; Value: unknown; Type: string }[];
      expect(variables.find((v) => v.Name === 'KINTO_REQUEST_GUARD_S3_URL')).toEqual({
        Name: 'KINTO_REQUEST_GUARD_S3_URL',
        Type: 'PLAINTEXT',
        Value: { 'Fn::Sub': `s3://cdk-hnb659fds-assets-\${AWS::AccountId}-\${AWS::Region}/${hash}.js` },
      });
    });

    it('are the only S3 objects the project may read, and reading them is all it may do in S3', () => {
      const [[roleId]] = ofType('AWS::IAM::Role').filter(([id]) => id.startsWith('BuildsProjectRole'));
      const policies = ofType('AWS::IAM::Policy').filter(([, p]) => p.Properties.Roles.some((r: { Ref?: string }) => r.Ref === roleId));
      const statements = policies.flatMap(([, p]) => p.Properties.PolicyDocument.Statement as Statement[]);
      const s3 = statements.filter((s) => [s.Action].flat().some((a) => a.startsWith('s3:')));
      expect(s3).toEqual([
        {
          Sid: 'ReadImagePrograms',
          Effect: 'Allow',
          Action: 's3:GetObject',
          Resource: [objectArn(), objectArn(pipeline.requestGuard.assetHash)],
        },
      ]);
    });
  });

  describe('image retention', () => {
    it('expires untagged images only: no lifecycle rule selects a tagged image', () => {
      const [[, repository]] = ofType('AWS::ECR::Repository');
      const policy = JSON.parse(repository.Properties.LifecyclePolicy.LifecyclePolicyText as string) as {
        rules: { selection: { tagStatus: string; countType: string; countNumber: number }; action: { type: string } }[];
      };
      expect(policy.rules.length).toBeGreaterThan(0);
      for (const rule of policy.rules) expect(rule.selection.tagStatus).toBe('untagged');
      expect(policy.rules.map((r) => r.selection)).toEqual([
        expect.objectContaining({ tagStatus: 'untagged', countType: 'sinceImagePushed', countNumber: 7 }),
      ]);
    });

    it('keeps build-<id> tags immutable, so no re-run of a build can leave an image a release pins untagged', () => {
      template.hasResourceProperties('AWS::ECR::Repository', {
        ImageTagMutability: 'MUTABLE_WITH_EXCLUSION',
        ImageTagMutabilityExclusionFilters: [
          { ImageTagMutabilityExclusionFilterType: 'WILDCARD', ImageTagMutabilityExclusionFilterValue: 'build-*' },
        ],
      });
      // buildspec.yml tags every image it pushes build-$KINTO_BUILD_ID, and pushes that tag first.
      const buildspec = readFileSync(join(__dirname, '..', '..', 'buildspec.yml'), 'utf8');
      expect(buildspec).toContain('docker tag "$image" "$KINTO_IMAGE_REPOSITORY:build-$KINTO_BUILD_ID"');
      expect(buildspec.indexOf('docker push --quiet "$KINTO_IMAGE_REPOSITORY:build-$KINTO_BUILD_ID"')).toBeLessThan(
        buildspec.indexOf('docker push --quiet "$image"'),
      );
    });
  });
});

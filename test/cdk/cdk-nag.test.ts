import { Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { synthPlatform, type SynthesizedPlatform } from './support/synth-platform';

/** Every cdk-nag finding the stack acknowledges, by construct: adding one means changing this list, in review. */
const REVIEWED_ACKNOWLEDGEMENTS = [
  'Kinto/Blocks/Cluster AwsSolutions-ECS4',
  'Kinto/Builds/Project AwsSolutions-CB4',
  'Kinto/Builds/Project AwsSolutions-IAM5[Resource::*]',
  'Kinto/Builds/Project AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:codebuild:<AWS::Region>:<AWS::AccountId>:report-group/<BuildsProject6967A60F>-*]',
  'Kinto/Builds/Project AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:/aws/codebuild/<BuildsProject6967A60F>:*]',
  'Kinto/Console/Bucket AwsSolutions-S1',
  'Kinto/Console/DeploymentRole AwsSolutions-IAM5[Action::s3:Abort*]',
  'Kinto/Console/DeploymentRole AwsSolutions-IAM5[Action::s3:DeleteObject*]',
  'Kinto/Console/DeploymentRole AwsSolutions-IAM5[Action::s3:GetBucket*]',
  'Kinto/Console/DeploymentRole AwsSolutions-IAM5[Action::s3:GetObject*]',
  'Kinto/Console/DeploymentRole AwsSolutions-IAM5[Action::s3:List*]',
  'Kinto/Console/DeploymentRole AwsSolutions-IAM5[Resource::*]',
  'Kinto/Console/DeploymentRole AwsSolutions-IAM5[Resource::<ConsoleBucket86B6957C.Arn>/*]',
  'Kinto/Console/DeploymentRole AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-<AWS::AccountId>-<AWS::Region>/*]',
  'Kinto/Console/Distribution AwsSolutions-CFR1',
  'Kinto/Console/Distribution AwsSolutions-CFR2',
  'Kinto/Console/Distribution AwsSolutions-CFR3',
  'Kinto/Console/Distribution AwsSolutions-CFR4',
  'Kinto/ControlApi/Handler/Role AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:cloudformation:<AWS::Region>:<AWS::AccountId>:stack/kinto-env-*/*]',
  'Kinto/ControlApi/Handler/Role AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:/kinto/env/*]',
  'Kinto/Deployer/Deployments AwsSolutions-IAM5[Resource::*]',
  'Kinto/Deployer/Deployments AwsSolutions-IAM5[Resource::<DeployerLambdaFunctionDBFDDBD8.Arn>:*]',
  'Kinto/Deployer/Deployments AwsSolutions-SF2',
  'Kinto/Deployer/EnvironmentBoundary AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:/kinto/env/*]',
  'Kinto/Deployer/Lambda/Role AwsSolutions-IAM5[Resource::<DeployerTemplatesE58CB76A.Arn>/templates/*]',
  'Kinto/Deployer/Lambda/Role AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:apigateway:<AWS::Region>::/apis/*/stages/$default]',
  'Kinto/Deployer/Lambda/Role AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:cloudformation:<AWS::Region>:<AWS::AccountId>:stack/kinto-env-*/*]',
  'Kinto/Deployer/Lambda/Role AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:lambda:<AWS::Region>:<AWS::AccountId>:function:kinto-????????????-*:*]',
  'Kinto/Deployer/Lambda/Role AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:lambda:<AWS::Region>:<AWS::AccountId>:function:kinto-????????????-*]',
  'Kinto/Deployer/StackRole AwsSolutions-IAM5[Resource::*]',
  'Kinto/Deployer/StackRole AwsSolutions-IAM5[Resource::<DeployerTemplatesE58CB76A.Arn>/templates/*]',
  'Kinto/Deployer/StackRole AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:apigateway:<AWS::Region>::/apis/*]',
  'Kinto/Deployer/StackRole AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:apigateway:<AWS::Region>::/tags/*]',
  'Kinto/Deployer/StackRole AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:cloudwatch::<AWS::AccountId>:dashboard/Kinto-*]',
  'Kinto/Deployer/StackRole AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:iam::<AWS::AccountId>:role/kinto-env-*]',
  'Kinto/Deployer/StackRole AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:lambda:<AWS::Region>:<AWS::AccountId>:function:kinto-????????????-*:*]',
  'Kinto/Deployer/StackRole AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:lambda:<AWS::Region>:<AWS::AccountId>:function:kinto-????????????-*]',
  'Kinto/Deployer/StackRole AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:/kinto/env/*]',
  'Kinto/Deployer/StackRole AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:scheduler:<AWS::Region>:<AWS::AccountId>:schedule/default/kinto-????????????-*]',
  'Kinto/Deployer/Templates AwsSolutions-S1',
  'Kinto/ControlApi/HttpApi AwsSolutions-APIG4',
  'Kinto/Custom::CDKBucketDeployment8693BB64968944B69AAFB0CC9EB8756C256MiB AwsSolutions-L1',
  'Kinto/GatewayAuthorizer AwsSolutions-IAM5[Resource::<StateTable8C4E6068.Arn>/index/*]',
  'Kinto/Secrets/AdminToken AwsSolutions-SMG4',
  'Kinto/Secrets/PlatformKey AwsSolutions-SMG4',
  // Custom services (issue 21): run-time names under fixed patterns, and calls without resource-level permissions.
  'Kinto/Deployer/EnvironmentBoundary AwsSolutions-IAM5[Resource::*]',
  'Kinto/Deployer/StackRole AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ec2:<AWS::Region>:<AWS::AccountId>:security-group/*]',
  'Kinto/Deployer/StackRole AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ecs:<AWS::Region>:<AWS::AccountId>:service/<BlocksCluster71D8C8CF>/kinto-????????????-*]',
  'Kinto/Deployer/StackRole AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:elasticfilesystem:<AWS::Region>:<AWS::AccountId>:access-point/*]',
  'Kinto/Deployer/StackRole AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:servicediscovery:<AWS::Region>:<AWS::AccountId>:service/*]',
  // Custom services woken before a deployment's jobs: the waker's grant, on the deployer.
  'Kinto/Deployer/Lambda/Role AwsSolutions-IAM5[Resource::*]',
  'Kinto/Deployer/Lambda/Role AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ecs:<AWS::Region>:<AWS::AccountId>:service/<BlocksCluster71D8C8CF>/kinto-????????????-*]',
  'Kinto/Deployer/Lambda/Role AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:scheduler:<AWS::Region>:<AWS::AccountId>:schedule/<ServiceWakerReaperSchedules4D80E051>/*]',
  'Kinto/ServiceWaker/Reaper/Role AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ecs:<AWS::Region>:<AWS::AccountId>:service/<BlocksCluster71D8C8CF>/kinto-????????????-*]',
  'Kinto/ServiceWaker/Reaper/Role AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:scheduler:<AWS::Region>:<AWS::AccountId>:schedule/<ServiceWakerReaperSchedules4D80E051>/*]',
  'Kinto/ServiceWaker/Waker/Role AwsSolutions-IAM5[Resource::*]',
  'Kinto/ServiceWaker/Waker/Role AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ecs:<AWS::Region>:<AWS::AccountId>:service/<BlocksCluster71D8C8CF>/kinto-????????????-*]',
  'Kinto/ServiceWaker/Waker/Role AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:scheduler:<AWS::Region>:<AWS::AccountId>:schedule/<ServiceWakerReaperSchedules4D80E051>/*]',
  // Deleted environments' data (issue: deleting an environment never deletes data silently): a function in the VPC.
  'Kinto/Blocks/ServiceData/Lambda/Role AwsSolutions-IAM5[Resource::*]',
];

function acknowledgements(platform: SynthesizedPlatform): { where: string; id: string; reason: string }[] {
  const found: { where: string; id: string; reason: string }[] = [];
  for (const construct of platform.app.node.findAll()) {
    for (const entry of construct.node.metadata) {
      if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
      for (const [key, reason] of Object.entries(entry.data as Record<string, string>)) {
        const id = key.replace(/^annotation::/i, '');
        // aws-cdk-lib acknowledges a few of its own CloudFormation-validation warnings; only cdk-nag's are ours.
        if (id.startsWith('AwsSolutions-')) found.push({ where: construct.node.path, id, reason });
      }
    }
  }
  return found;
}

describe('cdk-nag AwsSolutions on the Kinto app', () => {
  let platform: SynthesizedPlatform;

  beforeAll(() => {
    // Synthesis itself runs the pack too (createKintoApp registers it): it would throw on a finding.
    platform = synthPlatform({ withConsole: true });
  });
  afterAll(() => platform.dispose());

  it('reports no unacknowledged finding', () => {
    const report = new AwsSolutionsChecks(platform.app).validateScope(platform.app);
    const findings = report.violations.map(
      (v) => `${v.ruleName} at ${v.violatingResources.map((r) => r.constructPath).join(', ')}: ${v.description}`,
    );
    expect(findings).toEqual([]);
    expect(report.success).toBe(true);
  });

  it('acknowledges exactly the reviewed findings, each on the construct it concerns', () => {
    expect(
      acknowledgements(platform)
        .map((a) => `${a.where} ${a.id}`)
        .sort(),
    ).toEqual([...REVIEWED_ACKNOWLEDGEMENTS].sort());
  });

  it('acknowledges only findings that exist (no stale acknowledgement hides a future one)', () => {
    // The same pack with acknowledgements ignored: every finding the rules raise, acknowledged or not.
    const pack = new AwsSolutionsChecks(platform.app);
    (pack as unknown as { isAcknowledged: () => boolean }).isAcknowledged = () => false;
    const raw = pack
      .validateScope(platform.app)
      .violations.flatMap((v) => v.violatingResources.map((r) => ({ rule: v.ruleName, path: r.constructPath ?? '' })));
    const stale = acknowledgements(platform).filter(
      ({ where, id }) => !raw.some((f) => f.rule === id && (f.path === where || f.path.startsWith(`${where}/`))),
    );
    expect(stale.map((a) => `${a.where} ${a.id}`)).toEqual([]);
  });

  it('gives every acknowledgement a rule id and a reason a reviewer can check', () => {
    for (const { where, id, reason } of acknowledgements(platform)) {
      const context = `${where} ${id}`;
      expect({ context, idOk: /^AwsSolutions-[A-Z]+[0-9]+(\[.+\])?$/.test(id) }).toEqual({ context, idOk: true });
      // A reason says what is true of this resource (and why the rule does not apply), not "not needed".
      expect({ context, reasonLength: reason.length >= 80 }).toEqual({ context, reasonLength: true });
      expect({ context, placeholder: /\b(TODO|TBD|FIXME|not needed|n\/a)\b/i.test(reason) }).toEqual({ context, placeholder: false });
    }
  });
});

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3deploy from 'aws-cdk-lib/aws-s3-deployment';
import { Construct } from 'constructs';
import { REPO_ROOT } from './kinto-function';

export interface ConsoleSiteProps {
  /**
   * The built console (a folder with `index.html`). Deployed to the bucket when it exists;
   * otherwise the bucket and distribution are created empty, ready for the next deploy.
   * @default `console/dist` in the repository
   */
  readonly assetsPath?: string;
  /**
   * The control API's URL, written to `/config.json` for the console to read.
   * @default - no config.json
   */
  readonly apiUrl?: string;
  /**
   * What happens to the site bucket when the stack is deleted (a non-empty bucket cannot be
   * deleted by CloudFormation; retained, it costs cents).
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /** @default logs.RetentionDays.ONE_MONTH (the deployment custom resource's log) */
  readonly logRetention?: logs.RetentionDays;
}

/**
 * The console: a private S3 bucket served only through CloudFront with origin access control
 * (the bucket blocks all public access and accepts reads from this distribution alone), HTTPS
 * only, with security headers. Unknown paths return `index.html` (a single-page app).
 */
export class ConsoleSite extends Construct {
  public readonly bucket: s3.Bucket;
  public readonly distribution: cloudfront.Distribution;
  /** Whether the built console was found and is deployed with this stack. */
  public readonly deployed: boolean;
  /** `https://<id>.cloudfront.net` */
  public readonly url: string;

  constructor(scope: Construct, id: string, props: ConsoleSiteProps = {}) {
    super(scope, id);
    const assetsPath = props.assetsPath ?? join(REPO_ROOT, 'console', 'dist');

    this.bucket = new s3.Bucket(this, 'Bucket', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
    const spaFallback = (httpStatus: number): cloudfront.ErrorResponse => ({
      httpStatus,
      responseHttpStatus: 200,
      responsePagePath: '/index.html',
      ttl: Duration.seconds(10),
    });
    this.distribution = new cloudfront.Distribution(this, 'Distribution', {
      comment: 'Kinto console',
      defaultBehavior: {
        origin: origins.S3BucketOrigin.withOriginAccessControl(this.bucket),
        viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        cachePolicy: cloudfront.CachePolicy.CACHING_OPTIMIZED,
        responseHeadersPolicy: cloudfront.ResponseHeadersPolicy.SECURITY_HEADERS,
      },
      defaultRootObject: 'index.html',
      errorResponses: [spaFallback(403), spaFallback(404)],
      priceClass: cloudfront.PriceClass.PRICE_CLASS_100,
      httpVersion: cloudfront.HttpVersion.HTTP2_AND_3,
    });
    this.url = `https://${this.distribution.distributionDomainName}`;

    this.deployed = existsSync(join(assetsPath, 'index.html'));
    if (this.deployed) this.deploy(assetsPath, props);

    Validations.of(this.bucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason:
        'The bucket holds the public console build only and is read solely by CloudFront (origin access control); server access logs would record nothing but CloudFront fetches.',
    });
    Validations.of(this.distribution).acknowledge({
      id: 'AwsSolutions-CFR1',
      reason:
        'The console is a static admin page (no data without the admin token); teams deploy Kinto in any country, so no geo restriction is imposed by default.',
    });
    Validations.of(this.distribution).acknowledge({
      id: 'AwsSolutions-CFR2',
      reason:
        'AWS WAF costs $5/month per web ACL plus $1 per rule while idle, against the free-when-idle goal; the site is static files and the control API checks the admin token and is throttled.',
    });
    Validations.of(this.distribution).acknowledge({
      id: 'AwsSolutions-CFR3',
      reason:
        'Access logs of static console files carry no audit value (every action goes through the control API, whose access logs are on); standard logs need an ACL-enabled bucket.',
    });
    Validations.of(this.distribution).acknowledge({
      id: 'AwsSolutions-CFR4',
      reason:
        'The distribution uses the default *.cloudfront.net certificate (no custom domain), for which CloudFront fixes the minimum protocol at TLSv1; a custom domain and ACM certificate would allow TLSv1.2_2021.',
    });
  }

  private deploy(assetsPath: string, props: ConsoleSiteProps): void {
    const logGroup = new logs.LogGroup(this, 'DeploymentLogs', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // A role of our own instead of the default one with AWSLambdaBasicExecutionRole (any log group).
    const role = new iam.Role(this, 'DeploymentRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'Kinto console deployment (copies the built console to its bucket)',
    });
    logGroup.grant(role, 'logs:CreateLogStream', 'logs:PutLogEvents');
    new s3deploy.BucketDeployment(this, 'Deployment', {
      sources: [
        s3deploy.Source.asset(assetsPath),
        ...(props.apiUrl ? [s3deploy.Source.jsonData('config.json', { apiUrl: props.apiUrl })] : []),
      ],
      destinationBucket: this.bucket,
      distribution: this.distribution,
      distributionPaths: ['/*'],
      prune: true,
      role,
      logGroup,
      memoryLimit: 256,
    });
    // What BucketDeployment grants its role, finding by finding (it copies the asset zip to the bucket).
    const assetRead = 'BucketDeployment reads the console zip from the CDK bootstrap asset bucket';
    const siteWrite = "BucketDeployment replaces the site's files (prune: true deletes files the new build no longer has)";
    const acknowledgements: Record<string, string> = {
      'Action::s3:GetObject*': `${assetRead} (s3:GetObject* as granted by bucket.grantRead).`,
      'Action::s3:GetBucket*': `${assetRead} (s3:GetBucket* as granted by bucket.grantRead).`,
      'Action::s3:List*': `${assetRead} and lists the site bucket to prune it (s3:List* as granted by grantRead/grantReadWrite).`,
      'Resource::arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-<AWS::AccountId>-<AWS::Region>/*': `${assetRead}; asset object keys are content hashes, known only at deploy time.`,
      'Action::s3:DeleteObject*': `${siteWrite} (s3:DeleteObject* as granted by grantReadWrite).`,
      'Action::s3:Abort*': `${siteWrite}; s3:Abort* cancels its own failed multipart uploads.`,
      [`Resource::<${Stack.of(this).getLogicalId(this.bucket.node.defaultChild as s3.CfnBucket)}.Arn>/*`]: `${siteWrite}: every object of this one site bucket.`,
      'Resource::*':
        'cloudfront:CreateInvalidation and cloudfront:GetInvalidation, to refresh the distribution after a deploy: GetInvalidation takes invalidation ids that do not exist before the call.',
    };
    for (const [finding, reason] of Object.entries(acknowledgements)) {
      Validations.of(role).acknowledge({ id: `AwsSolutions-IAM5[${finding}]`, reason });
    }
    // BucketDeployment's handler is a singleton function at stack level, on the Python runtime aws-cdk-lib ships with it.
    const handler = Stack.of(this).node.children.find((c) => c.node.id.startsWith('Custom::CDKBucketDeployment'));
    if (handler) {
      Validations.of(handler).acknowledge({
        id: 'AwsSolutions-L1',
        reason:
          "aws-s3-deployment's BucketDeployment handler runs on the Python runtime its aws-cdk-lib release pins (it bundles the AWS CLI layer); upgrading aws-cdk-lib upgrades it. It runs only during deploys.",
      });
    }
  }
}

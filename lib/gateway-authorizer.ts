import { ArnFormat, Duration, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import { HttpLambdaAuthorizer, HttpLambdaResponseType } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { handlerEntry, KintoFunction } from './kinto-function';

/** Header that carries client tokens; API Gateway matches header names in any case. */
export const TOKEN_IDENTITY_SOURCE = '$request.header.Kinto-Authorization';

export interface GatewayAuthorizerProps {
  /** The state table: the authorizer reads one attribute of client items (GetItem only). */
  readonly stateTable: dynamodb.ITable;
  /** The platform key secret (its string is the key material that signs tokens). */
  readonly platformKey: secretsmanager.ISecret;
  /**
   * How long API Gateway caches an answer per token. A revoked or rotated client's token can pass
   * for up to this + `inLambdaCacheTtl`. 0 disables the cache (every request invokes the function).
   * @default Duration.seconds(300)
   */
  readonly resultsCacheTtl?: Duration;
  /**
   * How long a warm authorizer trusts a verified token and a client's status before reading the
   * table again.
   * @default Duration.seconds(30)
   */
  readonly inLambdaCacheTtl?: Duration;
  /**
   * Expected `iss` of tokens; the `/authorize` endpoint must sign with the same.
   * @default 'kinto'
   */
  readonly issuer?: string;
  /** More memory is more CPU: faster cold starts and signature checks. @default 256 */
  readonly memorySize?: number;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /** Authorizer logs are diagnostics, not data. @default RemovalPolicy.DESTROY */
  readonly logRemovalPolicy?: RemovalPolicy;
}

/** What the deployer passes to `CreateAuthorizer` for the environments' HTTP APIs it creates with the SDK. */
export interface AuthorizerSettings {
  readonly authorizerType: 'REQUEST';
  readonly authorizerUri: string;
  readonly identitySource: string[];
  readonly authorizerPayloadFormatVersion: '2.0';
  readonly enableSimpleResponses: true;
  readonly authorizerResultTtlInSeconds: number;
}

/**
 * The Lambda authorizer of environments' gateways: `lambdas/handlers/authorizer.ts` (the same
 * token verification as the local gateway), bundled with the local esbuild (never Docker),
 * minified, without the AWS SDK (the Node.js 24 runtime provides it, and the authorizer loads it
 * only when it must read the key or the table), on arm64, with its own log group and a role that
 * may write that log group, read the platform key and GetItem on the state table, nothing else.
 *
 * Environments' HTTP APIs are created by the deployer at run time, so the function lets API
 * Gateway invoke it as an authorizer of any HTTP API of this account and region, and `settings`
 * holds what `CreateAuthorizer` needs. For an HTTP API defined in CDK, attach `authorizer`
 * (or `authorizerFor(id)` for more than one API: an `HttpLambdaAuthorizer` binds to one API).
 * The environment id comes from each API stage's `kintoEnvironmentId` stage variable.
 */
export class GatewayAuthorizer extends Construct {
  public readonly function: NodejsFunction;
  public readonly role: iam.Role;
  public readonly logGroup: logs.LogGroup;
  /** Authorizer for one HTTP API defined in CDK. */
  public readonly authorizer: HttpLambdaAuthorizer;
  public readonly settings: AuthorizerSettings;

  private readonly resultsCacheTtl: Duration;

  constructor(scope: Construct, id: string, props: GatewayAuthorizerProps) {
    super(scope, id);
    this.resultsCacheTtl = props.resultsCacheTtl ?? Duration.seconds(300);
    const ttl = this.resultsCacheTtl.toSeconds();
    if (!Token.isUnresolved(ttl) && (ttl < 0 || ttl > 3600)) {
      throw new Error(`GatewayAuthorizer ${id}: resultsCacheTtl must be from 0 to 3600 seconds (API Gateway's limit), got ${ttl}.`);
    }
    const inLambda = (props.inLambdaCacheTtl ?? Duration.seconds(30)).toSeconds();
    if (inLambda < 0 || inLambda > 3600) {
      throw new Error(`GatewayAuthorizer ${id}: inLambdaCacheTtl must be from 0 to 3600 seconds, got ${inLambda}.`);
    }
    const memorySize = props.memorySize ?? 256;
    const issuer = props.issuer ?? 'kinto';
    if (!/^[\x21-\x7e]{1,128}$/.test(issuer)) {
      throw new Error(
        `GatewayAuthorizer ${id}: issuer must be 1 to 128 printable ASCII characters without spaces, got ${JSON.stringify(issuer)}.`,
      );
    }

    const fn = new KintoFunction(this, 'Lambda', {
      entry: handlerEntry('authorizer'),
      description: "Kinto gateway authorizer: verifies Kinto-Authorization tokens for environments' HTTP APIs",
      roleDescription: 'Kinto gateway authorizer: verifies client tokens',
      memorySize,
      timeout: Duration.seconds(5),
      logRetention: props.logRetention,
      logRemovalPolicy: props.logRemovalPolicy,
      environment: {
        STATE_TABLE_NAME: props.stateTable.tableName,
        PLATFORM_KEY_SECRET_ARN: props.platformKey.secretArn,
        KINTO_TOKEN_ISSUER: issuer,
        KINTO_AUTH_CACHE_SECONDS: String(inLambda),
      },
      // Small and cold-start sensitive: the runtime's SDK, loaded only when the key or the table
      // must be read; no source map (it would double the bundle; the code is small).
      bundleAwsSdk: false,
      sourceMap: false,
    });
    this.function = fn.function;
    this.role = fn.role;
    this.logGroup = fn.logGroup;
    props.stateTable.grant(this.role, 'dynamodb:GetItem');
    props.platformKey.grantRead(this.role);

    const stack = Stack.of(this);
    // The deployer creates environments' APIs with the SDK: let any HTTP API of this account and
    // region use the function as an authorizer (it answers yes or no, nothing else).
    this.function.addPermission('InvokeAsAuthorizer', {
      principal: new iam.ServicePrincipal('apigateway.amazonaws.com'),
      sourceAccount: stack.account,
      sourceArn: stack.formatArn({
        service: 'execute-api',
        resource: '*',
        resourceName: 'authorizers/*',
        arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
      }),
    });

    this.authorizer = this.authorizerFor('Authorizer');
    this.settings = {
      authorizerType: 'REQUEST',
      authorizerUri: `arn:${stack.partition}:apigateway:${stack.region}:lambda:path/2015-03-31/functions/${this.function.functionArn}/invocations`,
      identitySource: [TOKEN_IDENTITY_SOURCE],
      authorizerPayloadFormatVersion: '2.0',
      enableSimpleResponses: true,
      authorizerResultTtlInSeconds: ttl,
    };
  }

  /** A new `HttpLambdaAuthorizer` for one more HTTP API defined in CDK, with the same settings. */
  authorizerFor(id: string): HttpLambdaAuthorizer {
    return new HttpLambdaAuthorizer(id, this.function, {
      authorizerName: id,
      identitySource: [TOKEN_IDENTITY_SOURCE],
      responseTypes: [HttpLambdaResponseType.SIMPLE],
      resultsCacheTtl: this.resultsCacheTtl,
    });
  }
}

import { ArnFormat, Duration, Stack } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { handlerEntry, KintoFunction } from './kinto-function';

export interface GatewayFunctionProps {
  /** The state table: the function reads client items (GetItem only). */
  readonly stateTable: dynamodb.ITable;
  /** The platform key secret (signs tokens). */
  readonly platformKey: secretsmanager.ISecret;
  /** Must equal the authorizer's. @default 'kinto' */
  readonly issuer?: string;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
}

/**
 * The platform's function behind every environment's `POST /authorize` (client id and secret for
 * a token: `lambdas/handlers/authorize.ts`), and behind a shut-down environment's `$default`
 * route (503). One function for all environments: the environment is the API stage's
 * `kintoEnvironmentId` variable. API Gateway may invoke it for those two routes of any HTTP API in
 * this account and region, through one permission here (one per environment stack would fill the
 * function's 20 KB policy after some 60 environments).
 */
export class GatewayFunction extends Construct {
  public readonly function: NodejsFunction;
  public readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: GatewayFunctionProps) {
    super(scope, id);
    const fn = new KintoFunction(this, 'Lambda', {
      entry: handlerEntry('authorize'),
      description: "Kinto gateway: POST /authorize of every environment's HTTP API (and 503 while an environment is shut down)",
      roleDescription: 'Kinto gateway: issues client tokens',
      timeout: Duration.seconds(5),
      logRetention: props.logRetention,
      environment: {
        STATE_TABLE_NAME: props.stateTable.tableName,
        PLATFORM_KEY_SECRET_ARN: props.platformKey.secretArn,
        KINTO_TOKEN_ISSUER: props.issuer ?? 'kinto',
      },
    });
    this.function = fn.function;
    this.role = fn.role;
    this.role.addToPolicy(
      new iam.PolicyStatement({ sid: 'ReadClients', actions: ['dynamodb:GetItem'], resources: [props.stateTable.tableArn] }),
    );
    props.platformKey.grantRead(this.role);

    const stack = Stack.of(this);
    for (const [name, route] of [
      ['InvokeForAuthorize', '*/POST/authorize'],
      ['InvokeWhileShutDown', '*/$default'],
    ] as const) {
      this.function.addPermission(name, {
        principal: new iam.ServicePrincipal('apigateway.amazonaws.com'),
        sourceAccount: stack.account,
        sourceArn: stack.formatArn({
          service: 'execute-api',
          resource: '*',
          resourceName: route,
          arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
        }),
      });
    }
  }
}

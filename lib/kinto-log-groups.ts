import { ArnFormat, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { LOG_GROUP_PREFIX } from '../lambdas/core/logs/log-groups';

/**
 * Lets CloudWatch Logs deliver subscription batches to `fn` from Kinto's log groups: environments'
 * groups are created by their stacks at run time, all under /kinto/env/, so the source is that
 * prefix, in this account only.
 */
export function allowInvokeFromKintoLogGroups(fn: lambda.Function): void {
  const stack = Stack.of(fn);
  fn.addPermission('InvokeFromKintoLogGroups', {
    principal: new iam.ServicePrincipal('logs.amazonaws.com'),
    sourceAccount: stack.account,
    sourceArn: stack.formatArn({
      service: 'logs',
      resource: 'log-group',
      resourceName: `${LOG_GROUP_PREFIX}*`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    }),
  });
}

import { GetItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { ClientStatusLookup } from '../../core/auth/verify-token';
import { keys } from './state-table';

/**
 * A client's status for token verification, read straight from the state table with one
 * strongly consistent GetItem of one attribute (the authorizer's only read; its IAM policy allows
 * just this). The low-level client keeps the authorizer free of the document client.
 */
export function dynamoClientStatus(client: DynamoDBClient, tableName: string): ClientStatusLookup {
  return async (envId, clientId) => {
    const out = await client.send(
      new GetItemCommand({
        TableName: tableName,
        Key: { pk: { S: keys.envId(envId) }, sk: { S: keys.client(clientId) } },
        ProjectionExpression: '#generation',
        ExpressionAttributeNames: { '#generation': 'generation' },
        ConsistentRead: true,
      }),
    );
    const generation = Number(out.Item?.generation?.N);
    return Number.isSafeInteger(generation) && generation > 0 ? { generation } : undefined;
  };
}

import {
  CreateTableCommand,
  DescribeTableCommand,
  ResourceInUseException,
  type CreateTableCommandInput,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';

/**
 * Creates a table if it is missing and resolves once it is ACTIVE (the local platform and tests;
 * on AWS the CDK stack owns the tables).
 */
export async function ensureTable(client: DynamoDBClient, input: CreateTableCommandInput & { TableName: string }): Promise<void> {
  try {
    await client.send(new CreateTableCommand(input));
  } catch (e) {
    if (!(e instanceof ResourceInUseException || (e as Error).name === 'ResourceInUseException')) throw e;
  }
  for (let i = 0; i < 100; i++) {
    const out = await client.send(new DescribeTableCommand({ TableName: input.TableName }));
    if (out.Table?.TableStatus === 'ACTIVE') return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`table ${input.TableName} did not become ACTIVE`);
}

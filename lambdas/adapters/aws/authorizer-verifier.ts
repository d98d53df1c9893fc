import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { importTokenKey } from '../../core/auth/platform-keys';
import { MAX_TOKEN_LIFETIME_SECONDS, TokenVerifier } from '../../core/auth/verify-token';
import { dynamoClientStatus } from '../dynamodb/client-status';
import { secretsManagerKeys } from './secrets-manager-keys';

export interface AuthorizerConfig {
  readonly stateTableName: string;
  readonly platformKeySecretArn: string;
  readonly issuer: string;
  /** How long this Lambda trusts a verified token or a client's status before reading the table again. */
  readonly cacheSeconds: number;
}

/**
 * The authorizer's verifier on AWS: the platform key from Secrets Manager (read once per
 * container), client statuses from the state table. This module is imported lazily by the
 * authorizer on its first real verification, so a cold start does not load the AWS SDK until then
 * (the SDK is not bundled: the Node.js 24 Lambda runtime provides it).
 */
export async function createAwsTokenVerifier(config: AuthorizerConfig): Promise<TokenVerifier> {
  const material = await secretsManagerKeys(new SecretsManagerClient({}), config.platformKeySecretArn).material();
  return new TokenVerifier({
    key: await importTokenKey(material),
    issuer: config.issuer,
    clientStatus: dynamoClientStatus(new DynamoDBClient({}), config.stateTableName),
    cacheMs: config.cacheSeconds * 1000,
    maxLifetimeSeconds: MAX_TOKEN_LIFETIME_SECONDS,
  });
}

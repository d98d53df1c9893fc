import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

/**
 * Reads a Secrets Manager secret once per `ttlMs` (default 5 minutes) and shares the value across
 * invocations of a warm Lambda; concurrent first reads share one request.
 *
 * @example const adminToken = secretValue(new SecretsManagerClient({}), process.env.ADMIN_TOKEN_SECRET_ARN!);
 *          const token = await adminToken();
 */
export function secretValue(client: SecretsManagerClient, secretId: string, ttlMs = 5 * 60_000): () => Promise<string> {
  let cached: { value: Promise<string>; until: number } | undefined;
  return () => {
    const now = Date.now();
    if (!cached || cached.until <= now) {
      const value = client.send(new GetSecretValueCommand({ SecretId: secretId })).then((out) => {
        if (out.SecretString === undefined) throw new Error(`secret ${secretId} has no string value`);
        return out.SecretString;
      });
      cached = { value, until: now + ttlMs };
      value.catch(() => (cached = undefined));
    }
    return cached.value;
  };
}

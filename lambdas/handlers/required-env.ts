/** A Lambda's configuration from its environment; a missing variable names itself in the error. */
export function requiredEnv(name: string, env: NodeJS.ProcessEnv = process.env): string {
  const value = env[name];
  if (!value) throw new Error(`environment variable ${name} is not set: the CDK stack sets it on the function`);
  return value;
}

/**
 * The platform's parts custom services run on (lib/block-cluster.ts, lib/service-waker.ts): the
 * deployer gets them as one JSON variable (`BLOCK_SERVICES`) and passes them to environment
 * stacks that have a custom service (`PlatformRefs.services`).
 */
export interface ServicePlatformRefs {
  /** The ECS cluster services run in. */
  readonly clusterArn: string;
  readonly clusterName: string;
  readonly vpcId: string;
  /** Public dual-stack subnets: Fargate tasks, with a public IPv4 address to pull images and send logs. */
  readonly taskSubnetIds: readonly string[];
  /** Private dual-stack subnets (IPv6 egress only): functions of environments that have a custom service. */
  readonly functionSubnetIds: readonly string[];
  /** Every service task carries it: the file system's mount targets admit NFS from it alone. */
  readonly tasksSecurityGroupId: string;
  /** The encrypted EFS file system; each service gets an access point of its own on it. */
  readonly fileSystemId: string;
  readonly fileSystemArn: string;
  /** The private DNS namespace (`kinto.internal`) services are registered in. */
  readonly namespaceId: string;
  readonly namespaceArn: string;
  /** Wakes an environment's services when its functions are invoked (a log subscription). */
  readonly wakerFunctionArn: string;
}

const STRING_FIELDS = [
  'clusterArn',
  'clusterName',
  'vpcId',
  'tasksSecurityGroupId',
  'fileSystemId',
  'fileSystemArn',
  'namespaceId',
  'namespaceArn',
  'wakerFunctionArn',
] as const;
const LIST_FIELDS = ['taskSubnetIds', 'functionSubnetIds'] as const;

/** Reads `BLOCK_SERVICES` (JSON); the error names the field that is missing or wrong. */
export function parseServiceRefs(json: string): ServicePlatformRefs {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    throw new Error('BLOCK_SERVICES is not JSON: the CDK stack (EnvironmentDeployer) sets it on the deployer');
  }
  const problems = serviceRefsProblems(value);
  if (problems.length > 0) throw new Error(`BLOCK_SERVICES: ${problems.join('; ')}`);
  return value as ServicePlatformRefs;
}

/** What is wrong with a `ServicePlatformRefs` (empty when nothing is). */
export function serviceRefsProblems(value: unknown): string[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return ['must be an object'];
  const v = value as Record<string, unknown>;
  const problems: string[] = [];
  for (const f of STRING_FIELDS) if (typeof v[f] !== 'string' || v[f] === '') problems.push(`${f} must be a non-empty string`);
  for (const f of LIST_FIELDS) {
    const list = v[f];
    if (!Array.isArray(list) || list.length === 0 || list.some((s) => typeof s !== 'string' || s === ''))
      problems.push(`${f} must be a non-empty list of subnet ids`);
  }
  return problems;
}

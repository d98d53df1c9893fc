/**
 * CloudWatch log group names the deployer gives an environment's gateway and blocks, so that the
 * log indexer knows, from the group alone, which environment and block a line belongs to. Lines
 * are never trusted to say that themselves.
 */
export const LOG_GROUP_PREFIX = '/kinto/env/';

export const gatewayLogGroupName = (envId: string): string => `${LOG_GROUP_PREFIX}${envId}/gateway`;
export const blockLogGroupName = (envId: string, block: string): string => `${LOG_GROUP_PREFIX}${envId}/block/${block}`;

/** Where a batch of log lines came from. */
export type LogSource =
  | { readonly kind: 'gateway'; readonly envId: string }
  | { readonly kind: 'block'; readonly envId: string; readonly block: string; readonly release?: string; readonly commit?: string };

const GROUP = /^\/kinto\/env\/([A-Za-z0-9_-]{1,64})\/(?:gateway|block\/([a-z][a-z0-9-]{0,31}))$/;

/** The source a log group name stands for; undefined for groups Kinto did not name. */
export function parseLogGroupName(name: string): LogSource | undefined {
  const m = GROUP.exec(name);
  if (!m) return undefined;
  return m[2] ? { kind: 'block', envId: m[1], block: m[2] } : { kind: 'gateway', envId: m[1] };
}

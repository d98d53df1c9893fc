import { gatewayAccessLogFormat } from '../../../core/logs/access-log-format';
import type { EnvironmentDescription } from './environment-description';

/**
 * The environment's access-log format: its release and the commits of the blocks the gateway
 * serves are literals in every access line (jobs never appear there). The stack sets it, and a
 * deployment that only moves aliases sets it too, so that lines name the release that answered.
 */
export function accessLogFormatOf(d: EnvironmentDescription): string {
  if (d.release === undefined) return gatewayAccessLogFormat(d.envId);
  const commits: Record<string, string> = {};
  for (const b of d.blocks) if ((b.type === 'website' || b.type === 'microservice') && b.commit) commits[b.name] = b.commit;
  return gatewayAccessLogFormat(d.envId, { release: d.release, commits });
}

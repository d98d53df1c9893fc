import { serviceHostVariable, servicePortVariable } from '../../core/service-variables';
import type { ActiveEnvironment, Lookup } from '../../adapters/local/runtime/local-runtime';

/** Why the gateway cannot pass a request on: its status and error body. */
export interface Refusal {
  readonly status: number;
  readonly code: string;
  readonly message: string;
}

/** The environment a gateway URL names serves nothing now (HTTP requests and upgrades alike). */
export function notServing(kind: Exclude<Lookup['kind'], 'running'>): Refusal {
  if (kind === 'unknown')
    return {
      status: 404,
      code: 'ENVIRONMENT_NOT_FOUND',
      message: 'There is no environment with this gateway URL; GET .../environments/{env} shows the right one.',
    };
  if (kind === 'shut-down')
    return {
      status: 503,
      code: 'ENVIRONMENT_SHUT_DOWN',
      message: 'This environment is shut down; it answers again after the next deploy.',
    };
  return { status: 503, code: 'NOT_DEPLOYED', message: 'Nothing is deployed to this environment yet; deploy a release to it.' };
}

/** A gateway path names no block the gateway serves: no such block, or a custom service (TCP, internal only). */
export function unroutable(env: ActiveEnvironment, blockName: string): Refusal {
  const planned = env.plan.blocks.find((b) => b.block.name === blockName);
  if (planned?.block.type === 'custom-service') {
    return {
      status: 404,
      code: 'CUSTOM_SERVICE_INTERNAL',
      message: `Block "${blockName}" is a custom service: only the blocks of its environment reach it, over TCP at ${serviceHostVariable(blockName)}:${servicePortVariable(blockName)}, never through the gateway.`,
    };
  }
  return {
    status: 404,
    code: 'BLOCK_NOT_FOUND',
    message: `Release ${env.plan.release.version} of this environment has no block "${blockName.slice(0, 64)}" that the gateway serves.`,
  };
}

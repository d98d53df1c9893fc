/**
 * Names and numbers a custom service has on AWS, derived from its environment id and block name
 * alone: the environment stack (lib/environment-stack.ts), the deployer's fast path
 * (environment-plan.ts) and the waker and reaper compute the same values without asking anyone.
 */

/**
 * The platform's private DNS namespace (Cloud Map, one per platform VPC): services are
 * `<block>-<12 characters of the environment id>.kinto.internal`. `.internal` is reserved for
 * private use (ICANN, 2024), so it never shadows a public name.
 */
export const SERVICE_NAMESPACE = 'kinto.internal';

/** The port a service listens on when its build names none (it gets it as `PORT`). */
export const DEFAULT_SERVICE_PORT = 8080;

/** Where a service's EFS access point is mounted in its container (`KINTO_DATA_DIR`). */
export const SERVICE_DATA_DIR = '/mnt/kinto-data';

/** A service sleeps after this long without traffic, unless its configuration says otherwise (as locally). */
export const DEFAULT_SERVICE_IDLE_SECONDS = 300;

/**
 * The reaper looks once a minute: on AWS an idle time is at least this long (a shorter one is
 * rounded up), which also keeps the waker's 10-second memory of an awake service safe.
 */
export const MIN_SERVICE_IDLE_SECONDS_ON_AWS = 60;

/**
 * The waker's subscription filter on each function's log group: Lambda writes a `START RequestId:
 * <id> Version: <v>` line when an invocation begins (text log format, the functions' default), so
 * the waker hears of a request while it is being served, not after its access log line.
 */
export const WAKER_FILTER_PATTERN = '"START RequestId"';
export const WAKER_FILTER_NAME = 'kinto-service-waker';

/** Tags on each ECS service: the stack sets the first four, the waker the last one. */
export const SERVICE_TAGS = {
  envId: 'kinto:env',
  block: 'kinto:block',
  idleSeconds: 'kinto:idle-seconds',
  alwaysOn: 'kinto:always-on',
  /** Epoch seconds of the newest traffic the waker has seen for the service's environment. */
  lastTraffic: 'kinto:last-traffic',
} as const;

/** `kinto-<first 12 of the environment id>-`: every ECS service (and task family) of one environment starts so. */
export const servicePrefixOf = (envId: string): string => `kinto-${envId.slice(0, 12)}-`;

/** The ECS service and task definition family: `kinto-<12>-<block>` (the functions' pattern, which the stack role allows). */
export const serviceNameOf = (envId: string, block: string): string => `${servicePrefixOf(envId)}${block}`;

/** The Cloud Map service: one DNS label, `<block>-<12>` (at most 45 characters of 63). */
export const discoveryNameOf = (envId: string, block: string): string => `${block}-${envId.slice(0, 12)}`;

/** `KINTO_BLOCK_<NAME>_HOST`: where the environment's blocks reach the service. */
export const serviceHostOf = (envId: string, block: string): string => `${discoveryNameOf(envId, block)}.${SERVICE_NAMESPACE}`;

/** The folder of the platform's file system that holds one service's data (its access point's root). */
export const dataRootOf = (envId: string, block: string): string => `/kinto/${envId}/${block}`;

/**
 * The POSIX user and group a service's files belong to (and its container runs as): its own per
 * environment and block, from 0x50000000 up like the local platform's block users, never a
 * system id.
 */
export function posixIdOf(envId: string, block: string): number {
  return 0x50000000 + (fnv1a(`${envId}/${block}`) % 0x2fffffff);
}

/** The reaper's schedule of one service, in the platform's reaper schedule group. */
export const reaperScheduleNameOf = (serviceName: string): string => serviceName;

/** `KINTO_BLOCK_<NAME>_HOST` and `_PORT` (the names the local platform gives them too). */
export function serviceVariablesOf(envId: string, services: readonly { name: string; port?: number }[]): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const s of services) {
    const prefix = `KINTO_BLOCK_${s.name.toUpperCase().replace(/-/g, '_')}`;
    vars[`${prefix}_HOST`] = serviceHostOf(envId, s.name);
    vars[`${prefix}_PORT`] = String(s.port ?? DEFAULT_SERVICE_PORT);
  }
  return vars;
}

function fnv1a(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619) >>> 0;
  return h;
}

/**
 * The JSON access-log format the deployer sets on every environment's HTTP API stage
 * (`AccessLogSettings.Format`), and which `parseAccessLogLine` reads back.
 *
 * Every value is quoted: API Gateway writes `-` for a variable it has no value for, and an
 * unquoted `-` would make the line invalid JSON. `clientId` comes from the gateway authorizer's
 * context (`{ clientId }`); `lambdaRequestId` joins the block's Lambda `REPORT` line.
 *
 * The release and the blocks' commits are not request variables: the deployer writes them into
 * the format as literals on each deploy (`gatewayAccessLogFormat({ release, commits })`), so an
 * entry names the release that answered it. Requests in flight during the switch may carry the new
 * one.
 */
export const ACCESS_LOG_VARIABLES = {
  requestId: '$context.requestId',
  time: '$context.requestTimeEpoch',
  method: '$context.httpMethod',
  path: '$context.path',
  status: '$context.status',
  durationMs: '$context.responseLatency',
  clientId: '$context.authorizer.clientId',
  lambdaRequestId: '$context.integration.requestId',
} as const;

/** Marks a line as Kinto's access format, version 1. */
export const ACCESS_LOG_FORMAT_VERSION = 'kinto-access-1';

/** What the deployer knows at deploy time: the release and each block's build commit. */
export interface DeployedVersions {
  readonly release: string;
  readonly commits?: Readonly<Record<string, string>>;
}

/** The format string for an HTTP API stage; without `deployed`, entries carry no release. */
export function gatewayAccessLogFormat(envId: string, deployed?: DeployedVersions): string {
  const vars = Object.entries(ACCESS_LOG_VARIABLES).map(([k, v]) => `"${k}":"${v}"`);
  const literals = [`"format":"${ACCESS_LOG_FORMAT_VERSION}"`, `"envId":${JSON.stringify(envId)}`];
  if (deployed) {
    literals.push(`"release":${JSON.stringify(deployed.release)}`);
    // Short commits keep the format well under API Gateway's size limit for many blocks.
    const commits = Object.fromEntries(Object.entries(deployed.commits ?? {}).map(([b, c]) => [b, c.slice(0, 12)]));
    literals.push(`"commits":${JSON.stringify(commits)}`);
  }
  return `{${[...literals, ...vars].join(',')}}`;
}

/** The format with no deploy yet: what the stage gets when the environment is created. */
export const GATEWAY_ACCESS_LOG_FORMAT = gatewayAccessLogFormat('<envId>');

import { ACCESS_LOG_FORMAT_VERSION } from './access-log-format';
import { isoTime, isUsableTime } from './iso-time';
import type { AccessEntry } from './log-records';
import { isRequestId } from './request-id';

const HTTP_METHOD = /^[A-Z]{1,16}$/;
const BLOCK_NAME = /^[a-z][a-z0-9-]{0,31}$/;
const MAX_PATH = 2048;

/**
 * Validates an access entry (the local gateway's, or one read from an AWS access log) and
 * normalizes it. Returns undefined when it cannot name a request: no valid id, time or status.
 */
export function accessEntry(input: {
  envId: string;
  requestId: unknown;
  time: unknown;
  method: unknown;
  path: unknown;
  block?: unknown;
  release?: unknown;
  commit?: unknown;
  status: unknown;
  durationMs: unknown;
  clientId?: unknown;
  lambdaRequestId?: unknown;
}): AccessEntry | undefined {
  if (!isRequestId(input.requestId)) return undefined;
  const time = toIsoTime(input.time);
  const status = toNumber(input.status);
  if (time === undefined || status === undefined || !Number.isInteger(status) || status < 100 || status > 999) return undefined;
  const duration = toNumber(input.durationMs);
  const path = typeof input.path === 'string' && input.path !== '-' ? input.path.slice(0, MAX_PATH) : '/';
  // Built property by property, not with spreads: this runs once per request.
  const entry: { -readonly [K in keyof AccessEntry]: AccessEntry[K] } = {
    envId: input.envId,
    requestId: input.requestId,
    time,
    method: typeof input.method === 'string' && HTTP_METHOD.test(input.method) ? input.method : 'OTHER',
    path,
    status,
    durationMs: duration !== undefined && duration >= 0 ? Math.round(duration * 100) / 100 : 0,
  };
  const block = text(input.block) ?? blockOfPath(path);
  if (block && BLOCK_NAME.test(block)) entry.block = block;
  const release = text(input.release);
  if (release !== undefined) entry.release = release;
  const commit = text(input.commit);
  if (commit !== undefined) entry.commit = commit;
  const clientId = text(input.clientId);
  if (clientId !== undefined) entry.clientId = clientId;
  const lambdaRequestId = text(input.lambdaRequestId);
  if (lambdaRequestId !== undefined) entry.lambdaRequestId = lambdaRequestId;
  return entry;
}

/** Gateway routes that are not blocks. */
const GATEWAY_ROUTES = new Set(['authorize', 'health', 'kinto']);

/** `/<block>/rest` -> block (the gateway's routing rule), unless it is a gateway route. */
function blockOfPath(path: string): string | undefined {
  const slash = path.indexOf('/', 1);
  const first = path.slice(1, slash < 0 ? undefined : slash);
  return first && !GATEWAY_ROUTES.has(first) ? first : undefined;
}

/**
 * One line of an HTTP API stage access log in `gatewayAccessLogFormat`. `envId` comes from the log
 * group (trusted); an `envId` inside the line that disagrees makes the line invalid.
 */
export function parseAccessLogLine(line: string, envId: string): AccessEntry | undefined {
  let v: Record<string, unknown>;
  try {
    v = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v) || v.format !== ACCESS_LOG_FORMAT_VERSION) return undefined;
  if (v.envId !== undefined && v.envId !== envId && v.envId !== '<envId>') return undefined;
  const path = typeof v.path === 'string' ? v.path : '/';
  const block = blockOfPath(path);
  const commits = v.commits && typeof v.commits === 'object' ? (v.commits as Record<string, unknown>) : {};
  return accessEntry({
    envId,
    requestId: v.requestId,
    time: v.time,
    method: v.method,
    path,
    block,
    release: v.release,
    commit: block ? commits[block] : undefined,
    status: v.status,
    durationMs: v.durationMs,
    clientId: v.clientId,
    lambdaRequestId: v.lambdaRequestId,
  });
}

function text(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' && v !== '-' ? v.slice(0, 256) : undefined;
}

function toNumber(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'string' && v !== '' && v !== '-') {
    const n = Number(v);
    return Number.isFinite(n) ? n : undefined;
  }
  return undefined;
}

/** ISO string or epoch milliseconds -> ISO string; undefined when it is not a time. */
function toIsoTime(v: unknown): string | undefined {
  const ms = typeof v === 'number' ? v : typeof v === 'string' && !/^\d+$/.test(v) ? Date.parse(v) : toNumber(v);
  // Years 2000..9999 only: ISO strings of one length sort as text (the stores' keys rely on it).
  if (ms === undefined || !isUsableTime(ms)) return undefined;
  return isoTime(ms);
}

import type { LambdaReport } from './log-records';

export type LambdaPlatformLine =
  | { readonly type: 'REPORT'; readonly report: LambdaReport }
  | { readonly type: 'START' | 'END' | 'INIT_START' | 'EXTENSION' | 'TELEMETRY' };

const PLATFORM_WORD = /^(START|END|REPORT|INIT_START|EXTENSION|TELEMETRY) /;

/**
 * Recognizes the lines the Lambda service itself writes into a function's log group
 * (text format): `START RequestId: …`, `END RequestId: …`, `INIT_START …` and
 * `REPORT RequestId: <id>\tDuration: 2.34 ms\tBilled Duration: 3 ms\tMemory Size: 128 MB\t
 * Max Memory Used: 70 MB\tInit Duration: 150.12 ms` (Init only on a cold start). The JSON log
 * format's `platform.report` records are read too. Returns undefined for anything else.
 */
export function parseLambdaPlatformLine(text: string): LambdaPlatformLine | undefined {
  const c = text.charCodeAt(0);
  if (c === 0x7b /* { */) return text.includes('"platform.') ? parseJsonPlatformLine(text) : undefined;
  // START, END, REPORT, INIT_START, EXTENSION, TELEMETRY: cheap first-letter test before the regex.
  if (c !== 0x53 && c !== 0x45 && c !== 0x52 && c !== 0x49 && c !== 0x54) return undefined;
  const m = PLATFORM_WORD.exec(text);
  if (!m) return undefined;
  const type = m[1] as 'START' | 'END' | 'REPORT' | 'INIT_START' | 'EXTENSION' | 'TELEMETRY';
  if (type !== 'REPORT') return { type };
  const id = /RequestId: ([^\s]+)/.exec(text)?.[1];
  const duration = number(text, /\tDuration: ([\d.]+) ms/);
  if (!id || duration === undefined) return undefined;
  const init = number(text, /Init Duration: ([\d.]+) ms/);
  return {
    type,
    report: {
      lambdaRequestId: id,
      durationMs: duration,
      billedDurationMs: number(text, /Billed Duration: ([\d.]+) ms/) ?? 0,
      memorySizeMb: number(text, /Memory Size: (\d+) MB/) ?? 0,
      maxMemoryUsedMb: number(text, /Max Memory Used: (\d+) MB/) ?? 0,
      ...(init !== undefined ? { initDurationMs: init } : {}),
    },
  };
}

function number(text: string, re: RegExp): number | undefined {
  const m = re.exec(text);
  if (!m) return undefined;
  const n = Number(m[1]);
  return Number.isFinite(n) ? n : undefined;
}

function parseJsonPlatformLine(text: string): LambdaPlatformLine | undefined {
  let value: { type?: unknown; record?: { requestId?: unknown; metrics?: Record<string, unknown> } };
  try {
    value = JSON.parse(text) as typeof value;
  } catch {
    return undefined;
  }
  if (typeof value?.type !== 'string' || !value.type.startsWith('platform.')) return undefined;
  if (value.type === 'platform.start') return { type: 'START' };
  if (value.type === 'platform.runtimeDone' || value.type === 'platform.end') return { type: 'END' };
  if (value.type !== 'platform.report') return { type: 'TELEMETRY' };
  const m = value.record?.metrics ?? {};
  const num = (k: string): number | undefined => (typeof m[k] === 'number' && Number.isFinite(m[k]) ? m[k] : undefined);
  const id = value.record?.requestId;
  const duration = num('durationMs');
  if (typeof id !== 'string' || duration === undefined) return undefined;
  const init = num('initDurationMs');
  return {
    type: 'REPORT',
    report: {
      lambdaRequestId: id,
      durationMs: duration,
      billedDurationMs: num('billedDurationMs') ?? 0,
      memorySizeMb: num('memorySizeMB') ?? 0,
      maxMemoryUsedMb: num('maxMemoryUsedMB') ?? 0,
      ...(init !== undefined ? { initDurationMs: init } : {}),
    },
  };
}

import { unwrap } from '../../../client/kinto-client';
import { isAbort } from './api-errors';
import { readEventStream } from './event-stream';
import type { Kinto } from './kinto-context';
import type { Deployment, InstanceLine } from './types';

/** Waits `ms`, or less when `signal` aborts (then throws its AbortError). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new DOMException('aborted', 'AbortError'));
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => (clearTimeout(t), reject(new DOMException('aborted', 'AbortError'))), { once: true });
  });
}

const isEventStream = (r: Response) => (r.headers.get('content-type') ?? '').startsWith('text/event-stream');

/**
 * Follows a deployment until it ends, calling `onChange` with the whole record each time it
 * changes: server-sent events where the platform streams (locally), polling otherwise (AWS).
 */
export async function followDeployment(
  kinto: Kinto,
  where: { project: string; env: string; deployment: string },
  onChange: (d: Deployment) => void,
  signal: AbortSignal,
): Promise<Deployment> {
  const path = { params: { path: where } };
  if (kinto.config.streams) {
    const r = await kinto.api.GET('/v1/projects/{project}/environments/{env}/deployments/{deployment}', {
      params: { path: where, query: { follow: 'true' } },
      parseAs: 'stream',
      signal,
    });
    if (r.response.ok && r.data && isEventStream(r.response)) {
      let last: Deployment | undefined;
      await readEventStream(r.data, (e) => {
        if (e.event !== 'deployment') return;
        last = JSON.parse(e.data) as Deployment;
        onChange(last);
      });
      if (last && last.status !== 'in-progress') return last;
    }
  }
  for (;;) {
    const { data } = unwrap(await kinto.api.GET('/v1/projects/{project}/environments/{env}/deployments/{deployment}', { ...path, signal }));
    onChange(data);
    if (data.status !== 'in-progress') return data;
    await sleep(1000, signal);
  }
}

export interface LogChunk {
  readonly text: string;
  readonly nextOffset: number;
  /** False once the build or run has ended: what was read is all there is. */
  readonly running: boolean;
}

/**
 * Reads a text log (a build's or a job run's) from `offset` on, while the process writing it
 * runs: the API answers the text after `offset` and the offset to ask for next.
 */
export async function followTextLog(
  read: (offset: number, signal: AbortSignal) => Promise<LogChunk>,
  onText: (text: string) => void,
  signal: AbortSignal,
): Promise<void> {
  let offset = 0;
  for (;;) {
    const chunk = await read(offset, signal);
    if (chunk.text) onText(chunk.text);
    offset = chunk.nextOffset;
    if (!chunk.running) return;
    await sleep(700, signal);
  }
}

/**
 * The next offset of a text log answer, from its header; when a proxy hid it, counted from the
 * text (approximate: the API counts the raw log's bytes, before control sequences are removed).
 */
export function nextOffset(response: Response, offset: number, text: string): number {
  const header = Number(response.headers.get('kinto-log-next-offset'));
  return Number.isSafeInteger(header) && response.headers.has('kinto-log-next-offset')
    ? header
    : offset + new TextEncoder().encode(text).length;
}

/**
 * Follows a block's instance log: its last `limit` lines, then each new one. Locally one
 * server-sent event stream; on AWS, polling with `?after=<followCursor>` every few seconds.
 */
export async function followInstanceLog(
  kinto: Kinto,
  where: { project: string; env: string; block: string },
  query: { q?: string; limit: number },
  onLines: (lines: InstanceLine[]) => void,
  signal: AbortSignal,
): Promise<void> {
  const route = '/v1/projects/{project}/environments/{env}/blocks/{block}/logs' as const;
  const q = query.q ? { q: query.q } : {};
  if (kinto.config.streams) {
    const r = await kinto.api.GET(route, {
      params: { path: where, query: { ...q, limit: String(query.limit), follow: 'true' } },
      parseAs: 'stream',
      signal,
    });
    if (!r.response.ok) unwrap(r);
    if (r.data && isEventStream(r.response)) {
      // Lines arrive one event each; hand them over once per frame, not once per line.
      let batch: InstanceLine[] = [];
      let frame = 0;
      await readEventStream(r.data, (e) => {
        if (e.event !== 'line') return;
        batch.push(JSON.parse(e.data) as InstanceLine);
        frame ||= requestAnimationFrame(() => {
          frame = 0;
          const lines = batch;
          batch = [];
          onLines(lines);
        });
      });
      return;
    }
  }
  const first = unwrap(await kinto.api.GET(route, { params: { path: where, query: { ...q, limit: String(query.limit) } }, signal }));
  onLines([...first.data].reverse());
  let cursor = first.followCursor;
  for (;;) {
    await sleep(3000, signal);
    try {
      const page = unwrap(
        await kinto.api.GET(route, { params: { path: where, query: { ...q, ...(cursor ? { after: cursor } : {}) } }, signal }),
      );
      if (page.data.length > 0) onLines(page.data);
      cursor = page.followCursor;
    } catch (e) {
      if (isAbort(e)) throw e;
    }
  }
}

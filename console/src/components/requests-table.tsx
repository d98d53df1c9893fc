import { Fragment } from 'preact';
import type { RequestDetail, RequestEntry } from '../api/types';
import { ErrorNote } from './error-note';
import { HttpStatus } from './status-badge';
import { duration, shortCommit } from './time';

export interface RequestsTableProps {
  readonly requests: readonly RequestEntry[];
  readonly expanded: ReadonlySet<string>;
  /** A request's console lines once read (or the error reading them). */
  readonly details: ReadonlyMap<string, RequestDetail | { error: unknown }>;
  readonly onToggle: (requestId: string) => void;
}

const clock = (iso: string) => {
  const d = new Date(iso);
  return `${d.toLocaleTimeString(undefined, { hour12: false })}.${String(d.getMilliseconds()).padStart(3, '0')}`;
};

/**
 * Requests through an environment's gateway, newest first; a row expands to the JSON console
 * lines its blocks logged with its kinto_request_id, pretty-printed.
 */
export function RequestsTable({ requests, expanded, details, onToggle }: RequestsTableProps) {
  return (
    <div>
      <table class="requests">
        <caption class="visually-hidden">Requests, newest first</caption>
        <thead>
          <tr>
            <th scope="col">Code</th>
            <th scope="col" class="num">
              Duration
            </th>
            <th scope="col">Endpoint</th>
            <th scope="col">Block</th>
            <th scope="col">Version</th>
            <th scope="col">Time</th>
          </tr>
        </thead>
        <tbody>
          {requests.map((r) => {
            const open = expanded.has(r.requestId);
            const detail = details.get(r.requestId);
            return (
              <Fragment key={r.requestId}>
                <tr class={open ? 'selected' : undefined}>
                  <td>
                    <HttpStatus code={r.status} />
                  </td>
                  <td class="num">{duration(r.durationMs)}</td>
                  <td class="mono endpoint">
                    <button type="button" class="link mono" aria-expanded={open} onClick={() => onToggle(r.requestId)}>
                      {r.method} {r.path}
                    </button>
                  </td>
                  <td>{r.block ?? <span class="muted">—</span>}</td>
                  <td class="mono">{r.release ? `${r.release} · ${shortCommit(r.commit)}` : '—'}</td>
                  <td>
                    <time dateTime={r.time} title={new Date(r.time).toLocaleString()}>
                      {clock(r.time)}
                    </time>
                  </td>
                </tr>
                {open ? (
                  <tr class="detail">
                    <td colSpan={6} class="request-lines">
                      <RequestLines requestId={r.requestId} clientId={r.clientId} detail={detail} />
                    </td>
                  </tr>
                ) : null}
              </Fragment>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

function RequestLines({
  requestId,
  clientId,
  detail,
}: {
  readonly requestId: string;
  readonly clientId: string | null;
  readonly detail: RequestDetail | { error: unknown } | undefined;
}) {
  const head = (
    <p class="hint">
      Request <code>{requestId}</code>
      {clientId ? (
        <>
          {' '}
          from client <code>{clientId}</code>
        </>
      ) : null}
    </p>
  );
  if (!detail)
    return (
      <>
        {head}
        <p class="progress">Reading its console lines…</p>
      </>
    );
  if ('error' in detail)
    return (
      <>
        {head}
        <ErrorNote error={detail.error} />
      </>
    );
  return (
    <>
      {head}
      {detail.consoleLines.length === 0 ? (
        <p class="muted">
          No console lines yet: the block logged nothing with this kinto_request_id so far (lines can take a few seconds to arrive; expand
          the row again to read them again).
        </p>
      ) : (
        detail.consoleLines.map((l, i) => (
          <div key={i} class="console-line">
            <span class="hint">
              {clock(l.time)} · {l.block} · {l.stream}
              {l.truncated ? ' · cut' : ''}
            </span>
            <pre class="json">{l.log !== undefined ? JSON.stringify(l.log, null, 2) : (l.text ?? '')}</pre>
          </div>
        ))
      )}
    </>
  );
}

import { useId, useState } from 'preact/hooks';
import { unwrap } from '../../../client/kinto-client';
import { isAbort } from '../api/api-errors';
import { useKinto } from '../api/kinto-context';
import type { RequestDetail, RequestEntry } from '../api/types';
import { EmptyState, Loading } from '../components/empty-state';
import { EnvTabs } from '../components/env-tabs';
import { ErrorNote } from '../components/error-note';
import { InstanceLog } from '../components/instance-log';
import { usePageTitle } from '../components/page-title';
import { RequestsTable } from '../components/requests-table';
import { useAction } from '../components/use-action';
import { useLoad } from '../components/use-load';

/** Details are read this many at a time: a browser opens about six connections to one origin anyway. */
const PARALLEL = 6;

/** The requests API's query for the chosen filters. */
const query = (f: { block: string; status: string; limit: string }) => ({
  limit: f.limit,
  ...(f.block ? { block: f.block } : {}),
  ...(f.status ? { status: f.status } : {}),
});

/** Logs: the last requests (with filters), each expanding to its console JSON; a block's instance log, live. */
export function LogsPage({ project, env }: { readonly project: string; readonly env: string }) {
  usePageTitle(`Logs · ${env} · ${project}`);
  const { api } = useKinto();
  const id = useId();
  const [filters, setFilters] = useState({ block: '', status: '', limit: '100' });
  const [older, setOlder] = useState<{ items: RequestEntry[]; cursor: string | null }>({ items: [], cursor: null });
  const [expanded, setExpanded] = useState<ReadonlySet<string>>(new Set());
  const [details, setDetails] = useState<ReadonlyMap<string, RequestDetail | { error: unknown }>>(new Map());
  const expandAll = useAction();
  const loadOlder = useAction();
  const blocks = useLoad(
    async (signal) =>
      unwrap(await api.GET('/v1/projects/{project}/blocks', { params: { path: { project }, query: { limit: '1000' } }, signal })).data,
    [project],
  );
  const requests = useLoad(
    async (signal) => {
      const query = {
        limit: filters.limit,
        ...(filters.block ? { block: filters.block } : {}),
        ...(filters.status ? { status: filters.status } : {}),
      };
      const page = unwrap(
        await api.GET('/v1/projects/{project}/environments/{env}/requests', { params: { path: { project, env }, query }, signal }),
      );
      setOlder({ items: [], cursor: page.nextCursor });
      return page.data;
    },
    [project, env, filters],
  );
  const shown = [...(requests.data ?? []), ...older.items];

  // Console lines are read six requests at a time and shown as they arrive, one render per frame.
  // A request read with none (or with an error) is read again when expanded again: its lines may
  // not have been indexed yet (on AWS, CloudWatch Logs delivers them seconds after the request).
  const read = async (requestIds: string[]) => {
    const todo = requestIds.filter((r) => {
      const known = details.get(r);
      return !known || 'error' in known || known.consoleLines.length === 0;
    });
    const arrived = new Map<string, RequestDetail | { error: unknown }>();
    let frame = 0;
    const flush = () => {
      frame = 0;
      const batch = [...arrived];
      arrived.clear();
      setDetails((all) => new Map([...all, ...batch]));
    };
    let next = 0;
    const worker = async () => {
      while (next < todo.length) {
        const requestId = todo[next++];
        try {
          const path = { project, env, requestId };
          arrived.set(
            requestId,
            unwrap(await api.GET('/v1/projects/{project}/environments/{env}/requests/{requestId}', { params: { path } })).data,
          );
        } catch (error) {
          if (!isAbort(error)) arrived.set(requestId, { error });
        }
        frame ||= requestAnimationFrame(flush);
      }
    };
    await Promise.all(Array.from({ length: Math.min(PARALLEL, todo.length) }, worker));
    if (frame) cancelAnimationFrame(frame);
    flush();
  };
  const toggle = (requestId: string) => {
    const next = new Set(expanded);
    if (next.has(requestId)) next.delete(requestId);
    else {
      next.add(requestId);
      void read([requestId]);
    }
    setExpanded(next);
  };
  const allOpen = shown.length > 0 && shown.every((r) => expanded.has(r.requestId));

  return (
    <>
      <div class="page-head">
        <div>
          <h1>Logs of {env}</h1>
          <p>Requests through the gateway, newest first (kept two days). Expand one to see the console lines its blocks logged for it.</p>
        </div>
      </div>
      <EnvTabs project={project} env={env} />
      <h2>Requests</h2>
      <form class="filters" onSubmit={(e) => e.preventDefault()}>
        <div>
          <label for={`${id}-block`}>Block</label>
          <select id={`${id}-block`} value={filters.block} onChange={(e) => setFilters({ ...filters, block: e.currentTarget.value })}>
            <option value="">all blocks</option>
            {(blocks.data ?? []).map((b) => (
              <option key={b.name} value={b.name}>
                {b.name}
              </option>
            ))}
          </select>
        </div>
        <div>
          <label for={`${id}-status`}>Status</label>
          <select id={`${id}-status`} value={filters.status} onChange={(e) => setFilters({ ...filters, status: e.currentTarget.value })}>
            <option value="">all</option>
            <option value="error">errors (400 and up)</option>
            <option value="4xx">4xx</option>
            <option value="5xx">5xx</option>
            <option value="404">404</option>
          </select>
        </div>
        <div>
          <label for={`${id}-limit`}>Show</label>
          <select id={`${id}-limit`} value={filters.limit} onChange={(e) => setFilters({ ...filters, limit: e.currentTarget.value })}>
            <option value="20">last 20</option>
            <option value="100">last 100</option>
            <option value="500">last 500</option>
          </select>
        </div>
        <button type="button" class="secondary" onClick={() => void requests.reload()} disabled={requests.loading}>
          {requests.loading ? 'Refreshing…' : 'Refresh'}
        </button>
        <button
          type="button"
          class="secondary"
          disabled={shown.length === 0 || expandAll.busy}
          onClick={() =>
            allOpen
              ? setExpanded(new Set())
              : void expandAll.run(async () => {
                  setExpanded(new Set(shown.map((r) => r.requestId)));
                  await read(shown.map((r) => r.requestId));
                })
          }
        >
          {expandAll.busy ? 'Reading console lines…' : allOpen ? 'Collapse all' : 'Expand all'}
        </button>
      </form>
      <ErrorNote error={requests.error} />
      {!requests.data ? (
        requests.error ? null : (
          <Loading what="requests" />
        )
      ) : shown.length === 0 ? (
        <EmptyState title="No requests yet">
          <p>
            Call a block through the gateway (the environment's <a href={`/projects/${project}/environments/${env}`}>overview</a> has the
            commands): requests show here within a second.
          </p>
        </EmptyState>
      ) : (
        <>
          <p class="hint" role="status">
            {shown.length} requests
          </p>
          <RequestsTable requests={shown} expanded={expanded} details={details} onToggle={toggle} />
          {older.cursor ? (
            <p>
              <button
                type="button"
                class="secondary"
                disabled={loadOlder.busy}
                onClick={() =>
                  void loadOlder.run(async () => {
                    const page = unwrap(
                      await api.GET('/v1/projects/{project}/environments/{env}/requests', {
                        params: { path: { project, env }, query: { ...query(filters), before: older.cursor! } },
                      }),
                    );
                    setOlder({ items: [...older.items, ...page.data], cursor: page.nextCursor });
                  })
                }
              >
                {loadOlder.busy ? 'Loading…' : 'Older requests'}
              </button>
            </p>
          ) : null}
          <ErrorNote error={loadOlder.error} />
        </>
      )}
      <h2>Instance log</h2>
      <p class="hint">What a block wrote outside requests, and the platform's events about it (started, exited, stopped when idle).</p>
      <ErrorNote error={blocks.error} />
      {blocks.data ? <InstanceLog project={project} env={env} blocks={blocks.data} /> : <Loading what="blocks" />}
    </>
  );
}

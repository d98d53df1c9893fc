import { useCallback, useEffect, useState } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import { unwrap } from '../../../client/kinto-client';
import { nextOffset } from '../api/follow';
import { useKinto } from '../api/kinto-context';
import type { Job, JobRun } from '../api/types';
import { EmptyState, Loading } from '../components/empty-state';
import { EnvTabs } from '../components/env-tabs';
import { ErrorNote } from '../components/error-note';
import { usePageTitle } from '../components/page-title';
import { StatusBadge } from '../components/status-badge';
import { TextLogView } from '../components/text-log-view';
import { duration, When } from '../components/time';
import { useAction } from '../components/use-action';
import { useLoad } from '../components/use-load';

/** The jobs of the release an environment runs: next cron runs, runs with their outcome and output, "Run now". */
export function JobsPage({ project, env }: { readonly project: string; readonly env: string }) {
  usePageTitle(`Jobs · ${env} · ${project}`);
  const { api } = useKinto();
  const { query } = useLocation();
  const jobs = useLoad(
    async (signal) =>
      unwrap(await api.GET('/v1/projects/{project}/environments/{env}/jobs', { params: { path: { project, env } }, signal })).data,
    [project, env],
  );
  return (
    <>
      <div class="page-head">
        <div>
          <h1>Jobs in {env}</h1>
          <p>Pre-deploy, post-deploy and cron jobs of the release {env} runs. Cron schedules are in UTC.</p>
        </div>
      </div>
      <EnvTabs project={project} env={env} />
      <ErrorNote error={jobs.error} />
      {!jobs.data ? (
        jobs.error ? null : (
          <Loading what="jobs" />
        )
      ) : jobs.data.length === 0 ? (
        <EmptyState title="No jobs here">
          <p>
            The release {env} runs has no job (or it runs none yet). <a href={`/projects/${project}`}>Add a block of type job</a>, then Tag
            & Deploy.
          </p>
        </EmptyState>
      ) : (
        jobs.data.map((j) => (
          <JobCard
            key={j.name}
            project={project}
            env={env}
            job={j}
            run={query.job === j.name ? query.run : undefined}
            onRan={() => void jobs.reload()}
          />
        ))
      )}
    </>
  );
}

function JobCard({
  project,
  env,
  job,
  run: initialRun,
  onRan,
}: {
  readonly project: string;
  readonly env: string;
  readonly job: Job;
  readonly run?: string;
  readonly onRan: () => void;
}) {
  const { api } = useKinto();
  const path = { params: { path: { project, env, block: job.name } } };
  const runs = useLoad(
    async (signal) =>
      unwrap(
        await api.GET('/v1/projects/{project}/environments/{env}/blocks/{block}/runs', {
          params: { path: { project, env, block: job.name }, query: { limit: '20' } },
          signal,
        }),
      ).data,
    [project, env, job.name],
  );
  const [selected, setSelected] = useState(initialRun);
  const runNow = useAction();
  const running = runs.data?.some((r) => r.status === 'running') ?? false;
  // While a run runs, the list is read again to show its outcome when it ends.
  useEffect(() => {
    if (!running) return;
    const t = setInterval(() => void runs.reload(), 1500);
    return () => clearInterval(t);
  }, [running]);
  const shown = runs.data?.find((r) => r.id === selected);
  return (
    <section class="card job" aria-labelledby={`job-${job.name}`}>
      <div class="page-head">
        <div>
          <h2 id={`job-${job.name}`}>{job.name}</h2>
          <p>
            {job.kind}
            {job.schedule ? (
              <>
                {' '}
                · <code>{job.schedule}</code>
              </>
            ) : null}{' '}
            · stops after {job.timeoutSeconds} s
          </p>
        </div>
        <button
          type="button"
          disabled={runNow.busy || running}
          onClick={() =>
            void runNow.run(async () => {
              const { data } = unwrap(await api.POST('/v1/projects/{project}/environments/{env}/blocks/{block}/runs', path));
              setSelected(data.id);
              await runs.reload();
              onRan();
            })
          }
        >
          {runNow.busy ? 'Starting…' : running ? 'Running…' : 'Run now'}
          <span class="visually-hidden"> {job.name}</span>
        </button>
      </div>
      <ErrorNote error={runNow.error} />
      {job.nextRuns.length > 0 ? (
        <p>
          Next runs:{' '}
          {job.nextRuns.map((t, i) => (
            <span key={t}>
              {i > 0 ? ', ' : ''}
              <When iso={t} />
            </span>
          ))}
        </p>
      ) : null}
      <ErrorNote error={runs.error} />
      {!runs.data ? (
        <Loading what="runs" />
      ) : runs.data.length === 0 ? (
        <p class="muted">No runs yet.</p>
      ) : (
        <div class="table-wrap">
          <table>
            <caption class="visually-hidden">Runs of {job.name}</caption>
            <thead>
              <tr>
                <th scope="col">Outcome</th>
                <th scope="col">Trigger</th>
                <th scope="col">Release</th>
                <th scope="col">Started</th>
                <th scope="col" class="num">
                  Duration
                </th>
                <th scope="col" class="num">
                  Exit code
                </th>
                <th scope="col">
                  <span class="visually-hidden">Output</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {runs.data.map((r) => (
                <tr key={r.id} class={r.id === selected ? 'selected' : undefined}>
                  <td>
                    <StatusBadge status={r.status} />
                    {r.reason ? <span class="hint"> {r.reason}</span> : null}
                  </td>
                  <td>{r.trigger}</td>
                  <td class="mono">{r.release}</td>
                  <td>
                    <When iso={r.startedAt} />
                  </td>
                  <td class="num">{duration(r.durationMs)}</td>
                  <td class="num mono">{r.exitCode ?? '—'}</td>
                  <td class="num">
                    <button
                      type="button"
                      class="secondary small"
                      aria-pressed={r.id === selected}
                      onClick={() => setSelected(r.id === selected ? undefined : r.id)}
                    >
                      Output<span class="visually-hidden"> of the run started {new Date(r.startedAt).toLocaleString()}</span>
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {shown ? <RunOutput project={project} env={env} run={shown} /> : null}
    </section>
  );
}

function RunOutput({ project, env, run }: { readonly project: string; readonly env: string; readonly run: JobRun }) {
  const { api } = useKinto();
  const read = useCallback(
    async (offset: number, signal: AbortSignal) => {
      const r = await api.GET('/v1/projects/{project}/environments/{env}/blocks/{block}/runs/{run}/log', {
        params: { path: { project, env, block: run.job, run: run.id }, query: { offset: String(offset) } },
        parseAs: 'text',
        signal,
      });
      const text = unwrap({ ...r, data: r.data ?? '' });
      // Behind a proxy that hides the header (CORS without it exposed), the run record says.
      const status =
        r.response.headers.get('kinto-run-status') ??
        unwrap(
          await api.GET('/v1/projects/{project}/environments/{env}/blocks/{block}/runs/{run}', {
            params: { path: { project, env, block: run.job, run: run.id } },
            signal,
          }),
        ).data.status;
      return { text, nextOffset: nextOffset(r.response, offset, text), running: status === 'running' };
    },
    [project, env, run.id],
  );
  return <TextLogView label={`Output of ${run.job}`} read={read} />;
}

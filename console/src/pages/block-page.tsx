import { Fragment } from 'preact';
import { useCallback, useEffect, useState } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import { unwrap } from '../../../client/kinto-client';
import { expectOk } from '../api/api-errors';
import { nextOffset } from '../api/follow';
import { useKinto } from '../api/kinto-context';
import type { Block, Build } from '../api/types';
import { BlockForm } from '../components/block-form';
import { ConfirmNameDialog } from '../components/confirm-dialogs';
import { Dialog } from '../components/dialog';
import { EmptyState, Loading } from '../components/empty-state';
import { ErrorNote } from '../components/error-note';
import { usePageTitle } from '../components/page-title';
import { StatusBadge } from '../components/status-badge';
import { TextLogView } from '../components/text-log-view';
import { duration, shortCommit, When } from '../components/time';
import { useAction } from '../components/use-action';
import { useLoad } from '../components/use-load';

const active = (b: Build) => b.status === 'queued' || b.status === 'running';

/** A block: its definition, and its builds with live status and a log that follows while it runs. */
export function BlockPage({ project, block: name }: { readonly project: string; readonly block: string }) {
  usePageTitle(`${name} · ${project}`);
  const { api } = useKinto();
  const { route } = useLocation();
  const path = { params: { path: { project, block: name } } };
  const block = useLoad(
    async (signal) => unwrap(await api.GET('/v1/projects/{project}/blocks/{block}', { ...path, signal })).data,
    [project, name],
  );
  const builds = useLoad(
    async (signal) =>
      unwrap(
        await api.GET('/v1/projects/{project}/blocks/{block}/builds', {
          params: { path: { project, block: name }, query: { limit: '20' } },
          signal,
        }),
      ).data,
    [project, name],
  );
  const [selected, setSelected] = useState<string>();
  const [open, setOpen] = useState<'edit' | 'delete'>();
  const build = useAction();
  const running = builds.data?.some(active) ?? false;
  // While a build runs, its status is read again every second or so.
  useEffect(() => {
    if (!running) return;
    const t = setInterval(() => void builds.reload(), 1200);
    return () => clearInterval(t);
  }, [running]);
  const shown = builds.data?.find((b) => b.id === selected) ?? builds.data?.[0];
  const startBuild = () =>
    build.run(async () => {
      const { data } = unwrap(await api.POST('/v1/projects/{project}/blocks/{block}/builds', path));
      setSelected(data.id);
      await builds.reload();
    });

  return (
    <>
      <div class="page-head">
        <div>
          <h1>{name}</h1>
          <p>
            {block.data ? `${block.data.type}${block.data.kind ? ` · ${block.data.kind}` : ''}` : ''}
            {block.data?.description ? ` — ${block.data.description}` : ''}
          </p>
        </div>
        <div class="actions">
          <button type="button" onClick={() => void startBuild()} disabled={build.busy}>
            {build.busy ? 'Starting build…' : 'Build latest commit'}
          </button>
          <button type="button" class="secondary" onClick={() => setOpen('edit')} disabled={!block.data}>
            Edit block
          </button>
          <button type="button" class="danger" onClick={() => setOpen('delete')}>
            Delete block
          </button>
        </div>
      </div>
      <ErrorNote error={block.error} />
      <ErrorNote error={build.error} />
      {block.data ? <BlockFacts block={block.data} /> : <Loading what="the block" />}

      <h2>Builds</h2>
      <ErrorNote error={builds.error} />
      {!builds.data ? (
        <Loading what="builds" />
      ) : builds.data.length === 0 ? (
        <EmptyState title="Not built yet">
          <p>Build the latest commit of {block.data?.source.branch ?? 'its branch'}: the log shows here while it runs.</p>
        </EmptyState>
      ) : (
        <>
          <div class="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">Status</th>
                  <th scope="col">Commit</th>
                  <th scope="col">Started</th>
                  <th scope="col" class="num">
                    Duration
                  </th>
                  <th scope="col">Error</th>
                  <th scope="col">
                    <span class="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {builds.data.map((b) => (
                  <tr key={b.id} class={b.id === shown?.id ? 'selected' : undefined}>
                    <td>
                      <StatusBadge status={b.status} />
                    </td>
                    <td class="mono">{shortCommit(b.commit)}</td>
                    <td>
                      <When iso={b.startedAt ?? b.createdAt} />
                    </td>
                    <td class="num">{duration(b.durationMs)}</td>
                    <td>{b.error ?? ''}</td>
                    <td class="num">
                      <div class="row-actions">
                        <button type="button" class="secondary small" onClick={() => setSelected(b.id)} aria-pressed={b.id === shown?.id}>
                          Log<span class="visually-hidden"> of build {b.id}</span>
                        </button>
                        {b.status === 'failed' ? (
                          <button type="button" class="small" onClick={() => void startBuild()} disabled={build.busy}>
                            Retry
                          </button>
                        ) : null}
                      </div>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          {shown ? <BuildLog project={project} block={name} build={shown} /> : null}
        </>
      )}

      {open === 'edit' && block.data ? (
        <Dialog title={`Edit block ${name}`} onClose={() => setOpen(undefined)} wide>
          <BlockForm
            block={block.data}
            submitLabel="Save"
            busyLabel="Saving…"
            onCancel={() => setOpen(undefined)}
            onSubmit={async ({ name: _name, kind, schedule, ...rest }) => {
              const kinded = kind !== undefined;
              const { data } = unwrap(
                await api.PATCH('/v1/projects/{project}/blocks/{block}', {
                  ...path,
                  body: { ...rest, kind: kinded ? kind : null, schedule: kind === 'cron' ? (schedule ?? null) : null },
                }),
              );
              block.set(data);
              setOpen(undefined);
            }}
          />
        </Dialog>
      ) : null}
      {open === 'delete' ? (
        <ConfirmNameDialog
          kind="block"
          name={name}
          consequence="Releases already tagged keep it; the next release will not have it."
          onClose={() => setOpen(undefined)}
          onConfirm={async () => {
            expectOk(await api.DELETE('/v1/projects/{project}/blocks/{block}', path));
            route(`/projects/${project}`);
          }}
        />
      ) : null}
    </>
  );
}

function BlockFacts({ block }: { readonly block: Block }) {
  const b = block.build;
  const vars = Object.entries(block.variables);
  const args = Object.entries(b.buildArgs);
  return (
    <div class="grid">
      <section class="card" aria-label="Source">
        <h3>Source</h3>
        <dl class="facts">
          <dt>Repository</dt>
          <dd class="mono">{block.source.repo}</dd>
          {block.source.branch ? (
            <>
              <dt>Branch</dt>
              <dd class="mono">{block.source.branch}</dd>
            </>
          ) : null}
          {block.source.commit ? (
            <>
              <dt>Commit</dt>
              <dd class="mono">{block.source.commit}</dd>
            </>
          ) : null}
          {block.source.subfolder ? (
            <>
              <dt>Subfolder</dt>
              <dd class="mono">{block.source.subfolder}</dd>
            </>
          ) : null}
          {block.schedule ? (
            <>
              <dt>Schedule</dt>
              <dd class="mono">{block.schedule} (UTC)</dd>
            </>
          ) : null}
        </dl>
      </section>
      <section class="card" aria-label="Build settings">
        <h3>Build and run</h3>
        <dl class="facts">
          <dt>Build</dt>
          <dd class="mono">{b.buildCommand ?? '—'}</dd>
          <dt>Start</dt>
          <dd class="mono">{b.startCommand ?? '—'}</dd>
          {b.port ? (
            <>
              <dt>Port</dt>
              <dd class="mono">{b.port}</dd>
            </>
          ) : null}
          {b.outputDir ? (
            <>
              <dt>Output</dt>
              <dd class="mono">{b.outputDir}</dd>
            </>
          ) : null}
          {b.dockerfile ? (
            <>
              <dt>Dockerfile</dt>
              <dd class="mono">{b.dockerfile}</dd>
            </>
          ) : null}
          {args.length ? (
            <>
              <dt>Build args</dt>
              <dd class="mono">{args.map(([k, v]) => `${k}=${v}`).join(' ')}</dd>
            </>
          ) : null}
        </dl>
      </section>
      <section class="card" aria-label="Default variables">
        <h3>Default variables</h3>
        {vars.length === 0 ? (
          <p class="muted">None. Environments set their own in their configuration.</p>
        ) : (
          <dl class="facts">
            {vars.map(([k, v]) => (
              <Fragment key={k}>
                <dt class="mono">{k}</dt>
                <dd>
                  {v.default !== undefined ? <code>{v.default}</code> : <span class="muted">no default</span>}
                  {v.required ? ' · required' : ''}
                </dd>
              </Fragment>
            ))}
          </dl>
        )}
      </section>
    </div>
  );
}

function BuildLog({ project, block, build }: { readonly project: string; readonly block: string; readonly build: Build }) {
  const { api } = useKinto();
  const read = useCallback(
    async (offset: number, signal: AbortSignal) => {
      const r = await api.GET('/v1/projects/{project}/blocks/{block}/builds/{build}/log', {
        params: { path: { project, block, build: build.id }, query: { offset: String(offset) } },
        parseAs: 'text',
        signal,
      });
      const text = unwrap({ ...r, data: r.data ?? '' });
      // Behind a proxy that hides the header (CORS without it exposed), the build record says.
      const status =
        r.response.headers.get('kinto-build-status') ??
        unwrap(
          await api.GET('/v1/projects/{project}/blocks/{block}/builds/{build}', {
            params: { path: { project, block, build: build.id } },
            signal,
          }),
        ).data.status;
      return { text, nextOffset: nextOffset(r.response, offset, text), running: status === 'queued' || status === 'running' };
    },
    [project, block, build.id],
  );
  return (
    <section aria-label="Build log">
      <h3>
        Log of the build of <span class="mono">{shortCommit(build.commit)}</span> <StatusBadge status={build.status} />
      </h3>
      <TextLogView label={`Build log of ${block}`} read={read} />
    </section>
  );
}

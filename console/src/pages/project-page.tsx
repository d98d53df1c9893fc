import { useId, useState } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import { unwrap } from '../../../client/kinto-client';
import { useKinto } from '../api/kinto-context';
import type { Block, Build, CreatedEnvironment, Environment, Project } from '../api/types';
import { BlockForm } from '../components/block-form';
import { ClientSecretDialog } from '../components/client-secret-dialog';
import { DeleteProjectDialog } from '../components/delete-project-dialog';
import { TagDeployDialog } from '../components/deploy-dialogs';
import { Dialog } from '../components/dialog';
import { EmptyState, Loading } from '../components/empty-state';
import { ErrorNote } from '../components/error-note';
import { usePageTitle } from '../components/page-title';
import { StatusBadge } from '../components/status-badge';
import { TagReleaseDialog } from '../components/tag-release-dialog';
import { shortCommit, When } from '../components/time';
import { useAction } from '../components/use-action';
import { useLoad } from '../components/use-load';

type Open =
  | { kind: 'block' }
  | { kind: 'environment' }
  | { kind: 'created'; env: CreatedEnvironment }
  | { kind: 'tag' }
  | { kind: 'deploy'; release?: string }
  | { kind: 'describe' }
  | { kind: 'delete' };

/** A project: its blocks and environments as cards (with what each runs), its releases. */
export function ProjectPage({ project }: { readonly project: string }) {
  usePageTitle(project);
  const { api } = useKinto();
  const { route } = useLocation();
  const path = { params: { path: { project } } };
  const all = { params: { path: { project }, query: { limit: '1000' } } };
  const info = useLoad(async (signal) => unwrap(await api.GET('/v1/projects/{project}', { ...path, signal })).data, [project]);
  const blocks = useLoad(
    async (signal) => {
      const list = unwrap(await api.GET('/v1/projects/{project}/blocks', { ...all, signal })).data;
      // Each block's newest build, for its card.
      const latest = await Promise.all(
        list.map(
          async (b) =>
            unwrap(
              await api.GET('/v1/projects/{project}/blocks/{block}/builds', {
                params: { path: { project, block: b.name }, query: { limit: '1' } },
                signal,
              }),
            ).data[0],
        ),
      );
      return list.map((block, i) => ({ block, build: latest[i] }));
    },
    [project],
  );
  const envs = useLoad(async (signal) => unwrap(await api.GET('/v1/projects/{project}/environments', { ...all, signal })).data, [project]);
  const releases = useLoad(async (signal) => unwrap(await api.GET('/v1/projects/{project}/releases', { ...all, signal })).data, [project]);
  const [open, setOpen] = useState<Open>();
  const close = () => setOpen(undefined);

  return (
    <>
      <div class="page-head">
        <div>
          <h1>{project}</h1>
          <p>
            {info.data?.description || 'No description.'}{' '}
            <button type="button" class="link" onClick={() => setOpen({ kind: 'describe' })}>
              Edit description
            </button>
          </p>
        </div>
        <div class="actions">
          <button type="button" onClick={() => setOpen({ kind: 'block' })}>
            Add block
          </button>
          <button type="button" class="secondary" onClick={() => setOpen({ kind: 'environment' })}>
            New environment
          </button>
          <button type="button" class="secondary" onClick={() => setOpen({ kind: 'tag' })} disabled={!blocks.data?.length}>
            Tag release
          </button>
          <button
            type="button"
            class="secondary"
            onClick={() => setOpen({ kind: 'deploy' })}
            disabled={!blocks.data?.length || !envs.data?.length}
          >
            Tag & Deploy
          </button>
          <button type="button" class="danger" onClick={() => setOpen({ kind: 'delete' })}>
            Delete project
          </button>
        </div>
      </div>
      <ErrorNote error={info.error} />

      <h2>Environments</h2>
      <ErrorNote error={envs.error} />
      {!envs.data ? (
        <Loading what="environments" />
      ) : envs.data.length === 0 ? (
        <EmptyState title="No environments yet">
          <p>An environment (dev, test, prod…) has its own gateway URL, configuration and client credentials.</p>
          <button type="button" class="secondary" onClick={() => setOpen({ kind: 'environment' })}>
            Create an environment
          </button>
        </EmptyState>
      ) : (
        <div class="grid">
          {envs.data.map((e) => (
            <EnvironmentCard key={e.id} project={project} env={e} />
          ))}
        </div>
      )}

      <h2>Blocks</h2>
      <ErrorNote error={blocks.error} />
      {!blocks.data ? (
        <Loading what="blocks" />
      ) : blocks.data.length === 0 ? (
        <EmptyState title="No blocks yet: add a block">
          <p>
            A block is a git repo (or one folder of it) and how to build and run it: a website, a microservice, a custom service or a job.
          </p>
          <button type="button" onClick={() => setOpen({ kind: 'block' })}>
            Add a block
          </button>
        </EmptyState>
      ) : (
        <div class="grid">
          {blocks.data.map(({ block, build }) => (
            <BlockCard key={block.id} project={project} block={block} build={build} />
          ))}
        </div>
      )}

      <h2>Releases</h2>
      <ErrorNote error={releases.error} />
      {!releases.data ? (
        <Loading what="releases" />
      ) : releases.data.length === 0 ? (
        <EmptyState title="No releases yet">
          <p>Build your blocks, then Tag & Deploy: a release freezes every block with its build.</p>
        </EmptyState>
      ) : (
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Version</th>
                <th scope="col">Notes</th>
                <th scope="col">Blocks</th>
                <th scope="col">Tagged</th>
                <th scope="col">
                  <span class="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {releases.data.map((r) => (
                <tr key={r.version}>
                  <td class="mono">{r.version}</td>
                  <td>{r.notes || <span class="muted">—</span>}</td>
                  <td class="mono">{r.blocks.map((b) => `${b.name}@${shortCommit(b.commit)}`).join(', ')}</td>
                  <td>
                    <When iso={r.createdAt} />
                  </td>
                  <td class="num">
                    <button
                      type="button"
                      class="secondary small"
                      onClick={() => setOpen({ kind: 'deploy', release: r.version })}
                      disabled={!envs.data?.length}
                    >
                      Deploy…<span class="visually-hidden"> release {r.version}</span>
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}

      {open?.kind === 'block' ? (
        <Dialog title="Add a block" onClose={close} wide>
          <BlockForm
            submitLabel="Add block"
            busyLabel="Adding…"
            onCancel={close}
            onSubmit={async (input) => {
              const { data } = unwrap(await api.POST('/v1/projects/{project}/blocks', { ...path, body: input }));
              route(`/projects/${project}/blocks/${data.name}`);
            }}
          />
        </Dialog>
      ) : null}
      {open?.kind === 'environment' ? (
        <CreateEnvironmentDialog
          project={project}
          environments={envs.data ?? []}
          onClose={close}
          onCreated={async (env) => {
            await envs.reload();
            setOpen({ kind: 'created', env });
          }}
        />
      ) : null}
      {open?.kind === 'created' && open.env.client ? (
        <ClientSecretDialog
          title={`Environment ${open.env.name} created`}
          clientId={open.env.client.clientId}
          secret={open.env.client.secret}
          onClose={() => route(`/projects/${project}/environments/${open.env.name}`)}
        >
          <p>
            Its first client, <code>{open.env.client.name ?? 'default'}</code>, can call the gateway at <code>{open.env.gatewayUrl}</code>.
          </p>
        </ClientSecretDialog>
      ) : null}
      {open?.kind === 'tag' && blocks.data ? (
        <TagReleaseDialog
          project={project}
          blocks={blocks.data.map((b) => b.block)}
          onClose={(tagged) => {
            close();
            if (tagged) void releases.reload();
          }}
        />
      ) : null}
      {open?.kind === 'deploy' ? (
        <TagDeployDialog
          project={project}
          environments={envs.data ?? []}
          release={open.release}
          onClose={(changed) => {
            close();
            if (changed) void Promise.all([envs.reload(), releases.reload()]);
          }}
        />
      ) : null}
      {open?.kind === 'describe' ? (
        <DescribeDialog project={project} description={info.data?.description ?? ''} onClose={close} onSaved={info.set} />
      ) : null}
      {open?.kind === 'delete' ? <DeleteProjectDialog name={project} onClose={close} onDeleted={() => route('/')} /> : null}
    </>
  );
}

function EnvironmentCard({ project, env }: { readonly project: string; readonly env: Environment }) {
  const base = `/projects/${project}/environments/${env.name}`;
  return (
    <article class="card">
      <h3>
        <a href={base}>{env.name}</a> <StatusBadge status={env.status} />
      </h3>
      <p>
        {env.status === 'shut-down' ? (
          <span class="muted">Shut down: its gateway answers 503 until the next deployment.</span>
        ) : env.running ? (
          <>
            Runs <strong>{env.running.release}</strong>, deployed <When iso={env.running.at} />
          </>
        ) : (
          <span class="muted">Runs nothing yet: Tag & Deploy a release to it.</span>
        )}
      </p>
      {env.deploying ? (
        <p class="progress">
          Deploying since <When iso={env.deploying.since} />…
        </p>
      ) : null}
      {env.clonedFrom ? <p class="muted">Cloned from {env.clonedFrom}</p> : null}
      <p>
        <a href={`${base}/jobs`}>Jobs</a> · <a href={`${base}/logs`}>Logs</a> · <a href={`${base}/metrics`}>Metrics</a>
      </p>
    </article>
  );
}

function BlockCard({ project, block, build }: { readonly project: string; readonly block: Block; readonly build: Build | undefined }) {
  return (
    <article class="card">
      <h3>
        <a href={`/projects/${project}/blocks/${block.name}`}>{block.name}</a>
      </h3>
      <p class="muted">
        {block.type}
        {block.kind ? ` · ${block.kind}` : ''}
        {block.schedule ? ` · ${block.schedule}` : ''}
      </p>
      <p class="mono">
        {block.source.repo}
        {block.source.branch ? `#${block.source.branch}` : ''}
        {block.source.subfolder ? ` /${block.source.subfolder}` : ''}
      </p>
      <p>
        {build ? (
          <>
            Latest build <StatusBadge status={build.status} /> <span class="mono">{shortCommit(build.commit)}</span>{' '}
            <When iso={build.createdAt} />
          </>
        ) : (
          <span class="muted">Not built yet: open it and build.</span>
        )}
      </p>
    </article>
  );
}

function CreateEnvironmentDialog({
  project,
  environments,
  onClose,
  onCreated,
}: {
  readonly project: string;
  readonly environments: readonly Environment[];
  readonly onClose: () => void;
  readonly onCreated: (env: CreatedEnvironment) => Promise<void>;
}) {
  const { api } = useKinto();
  const [name, setName] = useState('');
  const [cloneFrom, setCloneFrom] = useState('');
  const action = useAction();
  const id = useId();
  return (
    <Dialog title="New environment" onClose={onClose}>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void action.run(async () => {
            const { data } = unwrap(
              await api.POST('/v1/projects/{project}/environments', {
                params: { path: { project } },
                body: { name, ...(cloneFrom ? { cloneFrom } : {}) },
              }),
            );
            await onCreated(data);
          });
        }}
      >
        <label for={`${id}-name`}>
          Name <span class="hint">— e.g. dev, test, prod</span>
        </label>
        <input id={`${id}-name`} value={name} onInput={(e) => setName(e.currentTarget.value)} required autoFocus autoComplete="off" />
        <label for={`${id}-clone`}>Copy the configuration of</label>
        <select id={`${id}-clone`} value={cloneFrom} onChange={(e) => setCloneFrom(e.currentTarget.value)}>
          <option value="">no environment (start from the blocks' defaults)</option>
          {environments.map((e) => (
            <option key={e.name} value={e.name}>
              {e.name}
            </option>
          ))}
        </select>
        <ErrorNote error={action.error} />
        <div class="form-actions">
          <button type="button" class="secondary" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" disabled={action.busy || !name}>
            {action.busy ? 'Creating…' : 'Create environment'}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

function DescribeDialog({
  project,
  description,
  onClose,
  onSaved,
}: {
  readonly project: string;
  readonly description: string;
  readonly onClose: () => void;
  readonly onSaved: (p: Project) => void;
}) {
  const { api } = useKinto();
  const [text, setText] = useState(description);
  const action = useAction();
  const id = useId();
  return (
    <Dialog title={`Describe ${project}`} onClose={onClose}>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void action.run(async () => {
            const { data } = unwrap(
              await api.PATCH('/v1/projects/{project}', { params: { path: { project } }, body: { description: text } }),
            );
            onSaved(data);
            onClose();
          });
        }}
      >
        <label for={id}>Description</label>
        <input id={id} value={text} onInput={(e) => setText(e.currentTarget.value)} autoFocus autoComplete="off" />
        <ErrorNote error={action.error} />
        <div class="form-actions">
          <button type="button" class="secondary" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" disabled={action.busy}>
            {action.busy ? 'Saving…' : 'Save'}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

import { useEffect, useId, useState } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import { unwrap } from '../../../client/kinto-client';
import { useKinto } from '../api/kinto-context';
import type { Block, Client, Environment } from '../api/types';
import { BlockConfigEditor } from '../components/block-config-editor';
import { ClientsPanel } from '../components/clients-panel';
import { ConfirmDialog, ConfirmNameDialog } from '../components/confirm-dialogs';
import { announceDeletion, deletionOutcome } from '../components/deletion-notice';
import { Copyable } from '../components/copy-button';
import { PromoteDialog, TagDeployDialog } from '../components/deploy-dialogs';
import { DeploymentProgress } from '../components/deployment-progress';
import { DeploymentsPanel } from '../components/deployments-panel';
import { EmptyState, Loading } from '../components/empty-state';
import { EnvTabs } from '../components/env-tabs';
import { ErrorNote } from '../components/error-note';
import { usePageTitle } from '../components/page-title';
import { StatusBadge } from '../components/status-badge';
import { When } from '../components/time';
import { useDeploymentFollow } from '../components/use-deployment-follow';
import { useLoad } from '../components/use-load';

type Open = { kind: 'deploy'; release?: string } | { kind: 'promote' } | { kind: 'shutdown' } | { kind: 'delete' };

/**
 * An environment: what it runs (and a deployment in progress, live), how to call it, each
 * block's configuration, its clients and its deployment history; deploy, promote, shut down, delete.
 */
export function EnvironmentPage({ project, env: name }: { readonly project: string; readonly env: string }) {
  usePageTitle(`${name} · ${project}`);
  const { api } = useKinto();
  const { route } = useLocation();
  const path = { params: { path: { project, env: name } } };
  const all = { params: { path: { project }, query: { limit: '1000' } } };
  const env = useLoad(
    async (signal) => unwrap(await api.GET('/v1/projects/{project}/environments/{env}', { ...path, signal })).data,
    [project, name],
  );
  const envs = useLoad(async (signal) => unwrap(await api.GET('/v1/projects/{project}/environments', { ...all, signal })).data, [project]);
  const blocks = useLoad(async (signal) => unwrap(await api.GET('/v1/projects/{project}/blocks', { ...all, signal })).data, [project]);
  const clients = useLoad(
    async (signal) =>
      unwrap(
        await api.GET('/v1/projects/{project}/environments/{env}/clients', {
          params: { path: { project, env: name }, query: { limit: '1000' } },
          signal,
        }),
      ).data,
    [project, name],
  );
  const deployments = useLoad(
    async (signal) =>
      unwrap(
        await api.GET('/v1/projects/{project}/environments/{env}/deployments', {
          params: { path: { project, env: name }, query: { limit: '50' } },
          signal,
        }),
      ).data,
    [project, name],
  );
  const refresh = () => Promise.all([env.reload(), envs.reload(), deployments.reload()]);
  // A deployment in progress (started here or elsewhere) is followed live until it ends.
  const live = useDeploymentFollow(() => void refresh());
  const inProgress = deployments.data?.find((d) => d.status === 'in-progress');
  useEffect(() => {
    if (inProgress && live.deployment?.id !== inProgress.id) live.follow(project, name, inProgress);
  }, [inProgress?.id]);
  const [open, setOpen] = useState<Open>();
  const close = (changed?: boolean) => {
    setOpen(undefined);
    if (changed) void refresh();
  };

  const e = env.data;
  return (
    <>
      <div class="page-head">
        <div>
          <h1>
            {name} {e ? <StatusBadge status={e.status} /> : null}
          </h1>
          <p>
            {e?.status === 'shut-down' ? (
              <>Shut down: its gateway answers 503 until the next deployment{e.running ? ` (it ran ${e.running.release})` : ''}.</>
            ) : e?.running ? (
              <>
                Runs <strong>{e.running.release}</strong>, deployed <When iso={e.running.at} />.
              </>
            ) : e ? (
              'Runs nothing yet: Tag & Deploy a release to it.'
            ) : (
              ''
            )}
          </p>
        </div>
        <div class="actions">
          <button type="button" onClick={() => setOpen({ kind: 'deploy' })} disabled={!envs.data || !blocks.data?.length}>
            Tag & Deploy
          </button>
          <button type="button" class="secondary" onClick={() => setOpen({ kind: 'promote' })} disabled={!envs.data}>
            Promote from…
          </button>
          <button
            type="button"
            class="secondary"
            onClick={() => setOpen({ kind: 'shutdown' })}
            disabled={e?.status !== 'active' || !e.running}
          >
            Shut down
          </button>
          <button type="button" class="danger" onClick={() => setOpen({ kind: 'delete' })}>
            Delete environment
          </button>
        </div>
      </div>
      <EnvTabs project={project} env={name} />
      <ErrorNote error={env.error} />
      {live.deployment?.status === 'in-progress' ? (
        <section class="card" aria-label="Deployment in progress">
          <DeploymentProgress deployment={live.deployment} jobsHref={`/projects/${project}/environments/${name}/jobs`} />
        </section>
      ) : null}

      <h2>Call it</h2>
      {e ? <CallGateway env={e} blocks={blocks.data ?? []} clients={clients.data ?? []} /> : <Loading what="the environment" />}

      <h2>Configuration</h2>
      <p class="hint">Each block's settings in {name}. Changes apply with the next deployment.</p>
      <ErrorNote error={blocks.error} />
      {!blocks.data ? (
        <Loading what="blocks" />
      ) : blocks.data.length === 0 ? (
        <EmptyState title="No blocks to configure">
          <p>
            <a href={`/projects/${project}`}>Add a block</a> to the project first.
          </p>
        </EmptyState>
      ) : (
        blocks.data.map((b) => (
          <details key={b.id} class="card config-card" open={blocks.data!.length <= 2}>
            <summary>
              <strong>{b.name}</strong> <span class="muted">{b.type}</span>
            </summary>
            <BlockConfigEditor project={project} env={name} block={b} />
          </details>
        ))
      )}

      <h2>Clients</h2>
      <ClientsPanel project={project} env={name} clients={clients} />

      <h2>Deployments</h2>
      {e ? (
        <DeploymentsPanel
          project={project}
          env={e}
          deployments={deployments}
          onDeploy={(release) => setOpen({ kind: 'deploy', release })}
        />
      ) : null}

      {open?.kind === 'deploy' && envs.data ? (
        <TagDeployDialog project={project} environments={envs.data} env={name} release={open.release} onClose={close} />
      ) : null}
      {open?.kind === 'promote' && envs.data ? (
        <PromoteDialog project={project} env={name} environments={envs.data} onClose={close} />
      ) : null}
      {open?.kind === 'shutdown' ? (
        <ConfirmDialog
          title={`Shut ${name} down`}
          confirmLabel="Shut down"
          busyLabel="Shutting down…"
          danger
          onClose={() => close()}
          onConfirm={async () => {
            unwrap(await api.POST('/v1/projects/{project}/environments/{env}/shutdown', path));
            close(true);
          }}
        >
          <p>Its blocks stop and its gateway answers 503 until the next deployment. Its configuration and clients are kept.</p>
        </ConfirmDialog>
      ) : null}
      {open?.kind === 'delete' ? (
        <ConfirmNameDialog
          kind="environment"
          name={name}
          consequence="Its gateway, configuration, clients and deployment history are deleted."
          offerDataDeletion
          onClose={() => close()}
          onConfirm={async ({ deleteData }) => {
            const outcome = deletionOutcome(
              await api.DELETE('/v1/projects/{project}/environments/{env}', {
                ...path,
                body: { confirm: name, ...(deleteData ? { deleteData: true } : {}) },
              }),
            );
            announceDeletion(`/projects/${project}`, `Environment ${name}`, outcome);
            route(`/projects/${project}`);
          }}
        />
      ) : null}
    </>
  );
}

/** The gateway URL and ready-to-paste commands: get a token with a client, then call a block with it. */
function CallGateway({
  env,
  blocks,
  clients,
}: {
  readonly env: Environment;
  readonly blocks: readonly Block[];
  readonly clients: readonly Client[];
}) {
  // Jobs are run, not called; custom services are reached only by the environment's own blocks.
  const callable = blocks.filter((b) => b.type !== 'job' && b.type !== 'custom-service');
  const [block, setBlock] = useState('');
  const id = useId();
  const gw = env.gatewayUrl;
  if (!gw) return <p class="muted">This environment has no gateway URL yet.</p>;
  const target = block || callable[0]?.name || '<block>';
  const clientId = clients[0]?.clientId ?? '<client id>';
  const authorize = [
    `TOKEN=$(curl -sS -X POST '${gw}/authorize' -H 'Content-Type: application/json' \\`,
    `  -d '{"clientId": "${clientId}", "secret": "<client secret>"}' | sed -E 's/.*"token":"([^"]+)".*/\\1/')`,
  ].join('\n');
  const call = `curl -sS -i '${gw}/${target}/' -H "Kinto-Authorization: $TOKEN"`;
  return (
    <div class="card">
      <Copyable label="Gateway URL" text={gw} />
      {callable.length > 1 ? (
        <div class="inline call-block">
          <label for={id}>Block to call</label>
          <select id={id} value={target} onChange={(e) => setBlock(e.currentTarget.value)}>
            {callable.map((b) => (
              <option key={b.name} value={b.name}>
                {b.name}
              </option>
            ))}
          </select>
        </div>
      ) : null}
      <Copyable label="1. Get a token with a client's id and secret (valid one hour)" text={authorize} rows={3} />
      <Copyable label={`2. Call ${target} with it (protected blocks need the token; public ones do not)`} text={call} rows={2} />
    </div>
  );
}

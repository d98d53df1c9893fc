import { useEffect, useId, useState } from 'preact/hooks';
import { unwrap } from '../../../client/kinto-client';
import { useKinto } from '../api/kinto-context';
import type { Environment } from '../api/types';
import { compareVersions, nextRevision } from '../api/versions';
import { CompareView } from './compare-view';
import { DeploymentProgress } from './deployment-progress';
import { Dialog } from './dialog';
import { Loading } from './empty-state';
import { ErrorNote } from './error-note';
import { useAction } from './use-action';
import { useDeploymentFollow } from './use-deployment-follow';
import { useLoad } from './use-load';
import { useReleases } from './use-releases';

export interface TagDeployProps {
  readonly project: string;
  readonly environments: readonly Environment[];
  /** The target environment, when the dialog opens from one. */
  readonly env?: string;
  /** An existing release to deploy (or roll back to); otherwise a new one is tagged. */
  readonly release?: string;
  /** Called when the dialog closes; `changed` once a deployment started. */
  readonly onClose: (changed: boolean) => void;
}

/**
 * Tag & Deploy: tag a new release (its version suggested) or pick an existing one, see what it
 * changes in the target environment, deploy it, and watch the steps advance until it ends.
 * Before tagging, the dialog shows what tagging now would change (compare `?untagged=true`);
 * "Tag & Deploy now" tags and deploys in one call, "Tag and review" tags and then compares the
 * release itself.
 */
export function TagDeployDialog({ project, environments, env: initialEnv, release: initialRelease, onClose }: TagDeployProps) {
  const { api } = useKinto();
  const [mode, setMode] = useState<'tag' | 'release'>(initialRelease ? 'release' : 'tag');
  const [env, setEnv] = useState(initialEnv ?? environments[0]?.name ?? '');
  const [release, setRelease] = useState(initialRelease ?? '');
  const [version, setVersion] = useState('');
  const [notes, setNotes] = useState('');
  const action = useAction();
  const live = useDeploymentFollow();
  const id = useId();
  const releases = useReleases(project);
  useEffect(() => {
    if (releases.data && !version) setVersion(nextRevision(releases.data.map((r) => r.version)));
    if (releases.data && !release && releases.data[0]) setRelease(releases.data[0].version);
  }, [releases.data]);
  const comparison = useLoad(
    async (signal) =>
      env && (mode === 'tag' || release)
        ? unwrap(
            await api.GET('/v1/projects/{project}/environments/{env}/compare', {
              params: { path: { project, env }, query: mode === 'tag' ? { untagged: 'true' } : { release } },
              signal,
            }),
          ).data
        : undefined,
    [mode, env, release],
  );
  // What was compared must be what is shown: an answer for the other mode or release may still be there while the next loads.
  const compared = comparison.data?.to.release === (mode === 'tag' ? 'untagged' : release) ? comparison.data : undefined;
  const target = environments.find((e) => e.name === env);
  const running = target?.running?.release;
  const rollback = mode === 'release' && running !== undefined && compareVersions(release, running) < 0;

  const deploy = (body: { release: string } | { tag: { version: string; notes: string } }) =>
    action.run(async () => {
      const { data } = unwrap(
        await api.POST('/v1/projects/{project}/environments/{env}/deployments', { params: { path: { project, env } }, body }),
      );
      live.follow(project, env, data);
    });
  const tagAndReview = () =>
    action.run(async () => {
      unwrap(await api.POST('/v1/projects/{project}/releases', { params: { path: { project } }, body: { version, notes } }));
      await releases.reload();
      setRelease(version);
      setMode('release');
    });

  if (live.deployment) {
    const d = live.deployment;
    return (
      <Dialog title={`Deploying ${d.release} to ${env}`} onClose={() => onClose(true)} wide>
        <DeploymentProgress deployment={d} jobsHref={`/projects/${project}/environments/${env}/jobs`} />
        <ErrorNote error={live.error} />
        <div class="form-actions">
          <button type="button" class={d.status === 'in-progress' ? 'secondary' : undefined} onClick={() => onClose(true)}>
            {d.status === 'in-progress' ? 'Close (it goes on)' : 'Done'}
          </button>
        </div>
      </Dialog>
    );
  }

  return (
    <Dialog title={initialRelease ? `Deploy a release to ${env}` : 'Tag & Deploy'} onClose={() => onClose(false)} wide>
      {environments.length === 0 ? <p class="notice">This project has no environment yet: create one (e.g. dev) to deploy to.</p> : null}
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void (mode === 'tag' ? tagAndReview() : deploy({ release }));
        }}
      >
        <div class="row">
          <div>
            <label for={`${id}-env`}>Target environment</label>
            <select id={`${id}-env`} value={env} onChange={(e) => setEnv(e.currentTarget.value)} disabled={!!initialEnv}>
              {environments.map((e) => (
                <option key={e.name} value={e.name}>
                  {e.name}
                  {e.running ? ` (runs ${e.running.release})` : ' (runs nothing)'}
                </option>
              ))}
            </select>
          </div>
          <fieldset class="choice">
            <legend>Release</legend>
            <div class="inline">
              <input type="radio" id={`${id}-new`} name={`${id}-mode`} checked={mode === 'tag'} onChange={() => setMode('tag')} />
              <label for={`${id}-new`}>tag a new one</label>
            </div>
            <div class="inline">
              <input
                type="radio"
                id={`${id}-existing`}
                name={`${id}-mode`}
                checked={mode === 'release'}
                onChange={() => setMode('release')}
                disabled={!releases.data?.length}
              />
              <label for={`${id}-existing`}>an existing one</label>
            </div>
          </fieldset>
        </div>
        {mode === 'tag' ? (
          <>
            <div class="row">
              <div>
                <label for={`${id}-version`}>
                  Version <span class="hint">— MAJOR.MINOR.REVISION</span>
                </label>
                <input id={`${id}-version`} class="mono" value={version} onInput={(e) => setVersion(e.currentTarget.value)} required />
              </div>
            </div>
            <label for={`${id}-notes`}>Notes</label>
            <textarea id={`${id}-notes`} rows={2} value={notes} onInput={(e) => setNotes(e.currentTarget.value)} />
            <p class="hint">
              Tagging freezes every block with its newest successful build. What that would change in {env || 'the environment'}:
            </p>
            {comparison.loading && !compared ? <Loading what="what changes" /> : null}
            <ErrorNote error={comparison.error} />
            {compared && mode === 'tag' ? (
              <CompareView comparison={{ ...compared, to: { ...compared.to, release: version || 'the new release' } }} env={env} />
            ) : null}
          </>
        ) : (
          <>
            <label for={`${id}-release`}>Release</label>
            <select id={`${id}-release`} value={release} onChange={(e) => setRelease(e.currentTarget.value)}>
              {(releases.data ?? []).map((r) => (
                <option key={r.version} value={r.version}>
                  {r.version}
                  {r.notes ? ` — ${r.notes}` : ''}
                  {r.version === running ? ' (running)' : ''}
                </option>
              ))}
            </select>
            {comparison.loading && !compared ? <Loading what="what changes" /> : null}
            <ErrorNote error={comparison.error} />
            {compared && mode === 'release' ? <CompareView comparison={compared} env={env} /> : null}
          </>
        )}
        <ErrorNote error={action.error} />
        <div class="form-actions">
          <button type="button" class="secondary" onClick={() => onClose(false)}>
            Cancel
          </button>
          {mode === 'tag' ? (
            <>
              <button
                type="button"
                class="secondary"
                disabled={action.busy || !env || !version}
                onClick={() => void deploy({ tag: { version, notes } })}
              >
                Tag & Deploy now
              </button>
              <button type="submit" disabled={action.busy || !env || !version}>
                {action.busy ? 'Tagging…' : 'Tag and review changes'}
              </button>
            </>
          ) : (
            <button type="submit" disabled={action.busy || !env || !release || !compared}>
              {action.busy ? 'Starting…' : rollback ? `Roll back to ${release}` : `Deploy ${release} to ${env}`}
            </button>
          )}
        </div>
      </form>
    </Dialog>
  );
}

export interface PromoteProps {
  readonly project: string;
  readonly env: string;
  readonly environments: readonly Environment[];
  readonly onClose: (changed: boolean) => void;
}

/** Promote: deploy what another environment runs to this one, after seeing what changes. */
export function PromoteDialog({ project, env, environments, onClose }: PromoteProps) {
  const { api } = useKinto();
  const sources = environments.filter((e) => e.name !== env && e.running);
  const [from, setFrom] = useState(sources[0]?.name ?? '');
  const action = useAction();
  const live = useDeploymentFollow();
  const id = useId();
  const comparison = useLoad(
    async (signal) =>
      from
        ? unwrap(
            await api.GET('/v1/projects/{project}/environments/{env}/compare', {
              params: { path: { project, env }, query: { from } },
              signal,
            }),
          ).data
        : undefined,
    [from],
  );
  if (live.deployment) {
    const d = live.deployment;
    return (
      <Dialog title={`Promoting ${from} to ${env}`} onClose={() => onClose(true)} wide>
        <DeploymentProgress deployment={d} jobsHref={`/projects/${project}/environments/${env}/jobs`} />
        <ErrorNote error={live.error} />
        <div class="form-actions">
          <button type="button" onClick={() => onClose(true)}>
            {d.status === 'in-progress' ? 'Close (it goes on)' : 'Done'}
          </button>
        </div>
      </Dialog>
    );
  }
  return (
    <Dialog title={`Promote to ${env}`} onClose={() => onClose(false)} wide>
      {sources.length === 0 ? (
        <p class="notice">No other environment runs a release yet: deploy one there first.</p>
      ) : (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            void action.run(async () => {
              const { data } = unwrap(
                await api.POST('/v1/projects/{project}/environments/{env}/promote', { params: { path: { project, env } }, body: { from } }),
              );
              live.follow(project, env, data);
            });
          }}
        >
          <label for={`${id}-from`}>From environment</label>
          <select id={`${id}-from`} value={from} onChange={(e) => setFrom(e.currentTarget.value)}>
            {sources.map((e) => (
              <option key={e.name} value={e.name}>
                {e.name} (runs {e.running?.release})
              </option>
            ))}
          </select>
          <p class="hint">The release keeps its code; {env} keeps its own configuration.</p>
          {comparison.loading && !comparison.data ? <Loading what="what changes" /> : null}
          <ErrorNote error={comparison.error} />
          {comparison.data ? <CompareView comparison={comparison.data} env={env} /> : null}
          <ErrorNote error={action.error} />
          <div class="form-actions">
            <button type="button" class="secondary" onClick={() => onClose(false)}>
              Cancel
            </button>
            <button type="submit" disabled={action.busy || !comparison.data}>
              {action.busy ? 'Starting…' : `Promote ${comparison.data?.to.release ?? ''} to ${env}`}
            </button>
          </div>
        </form>
      )}
    </Dialog>
  );
}

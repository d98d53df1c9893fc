import { useState } from 'preact/hooks';
import type { Deployment, Environment } from '../api/types';
import { compareVersions } from '../api/versions';
import { DeploymentProgress } from './deployment-progress';
import { EmptyState, Loading } from './empty-state';
import { ErrorNote } from './error-note';
import { StatusBadge } from './status-badge';
import { duration, When } from './time';
import type { Loaded } from './use-load';

export interface DeploymentsPanelProps {
  readonly project: string;
  readonly env: Environment;
  readonly deployments: Loaded<Deployment[]>;
  /** Opens Tag & Deploy on an older (rollback) or newer release. */
  readonly onDeploy: (release: string) => void;
}

/** An environment's deployment history, newest first, each with its steps and a way back to its release. */
export function DeploymentsPanel({ project, env, deployments, onDeploy }: DeploymentsPanelProps) {
  const [expanded, setExpanded] = useState<string>();
  const running = env.running;
  if (deployments.error) return <ErrorNote error={deployments.error} />;
  if (!deployments.data) return <Loading what="deployments" />;
  if (deployments.data.length === 0) {
    return (
      <EmptyState title="Nothing deployed yet">
        <p>Tag & Deploy a release: its steps show here as they advance.</p>
      </EmptyState>
    );
  }
  return (
    <div class="table-wrap">
      <table>
        <thead>
          <tr>
            <th scope="col">Release</th>
            <th scope="col">Action</th>
            <th scope="col">Status</th>
            <th scope="col">Started</th>
            <th scope="col" class="num">
              Took
            </th>
            <th scope="col">
              <span class="visually-hidden">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {deployments.data.map((d) => {
            const current = running?.deploymentId === d.id;
            const older = running && compareVersions(d.release, running.release) < 0;
            return [
              <tr key={d.id}>
                <td class="mono">
                  {d.release}
                  {current ? (
                    <>
                      {' '}
                      <span class="badge ok">running now</span>
                    </>
                  ) : null}
                </td>
                <td>
                  {d.action}
                  {d.promotedFrom ? ` from ${d.promotedFrom}` : ''}
                  {d.tagged ? ' (tagged)' : ''}
                </td>
                <td>
                  <StatusBadge status={d.status} />
                  {d.failedStep ? <span class="hint"> at {d.failedStep}</span> : null}
                </td>
                <td>
                  <When iso={d.createdAt} />
                </td>
                <td class="num">{duration(d.finishedAt ? Date.parse(d.finishedAt) - Date.parse(d.createdAt) : null)}</td>
                <td class="num">
                  <div class="row-actions">
                    <button
                      type="button"
                      class="secondary small"
                      aria-expanded={expanded === d.id}
                      onClick={() => setExpanded(expanded === d.id ? undefined : d.id)}
                    >
                      Steps<span class="visually-hidden"> of the deployment of {d.release}</span>
                    </button>
                    {!current && d.status === 'succeeded' && running?.release !== d.release ? (
                      <button type="button" class="small" onClick={() => onDeploy(d.release)}>
                        {older ? `Roll back to ${d.release}` : `Deploy ${d.release}`}
                      </button>
                    ) : null}
                  </div>
                </td>
              </tr>,
              expanded === d.id ? (
                <tr key={`${d.id}-steps`} class="detail">
                  <td colSpan={6}>
                    <DeploymentProgress deployment={d} jobsHref={`/projects/${project}/environments/${env.name}/jobs`} />
                  </td>
                </tr>
              ) : null,
            ];
          })}
        </tbody>
      </table>
    </div>
  );
}

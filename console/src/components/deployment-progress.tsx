import type { Deployment } from '../api/types';
import { StatusBadge } from './status-badge';
import { duration } from './time';

const STEP_NAMES: Record<string, string> = {
  prepare: 'prepare',
  'pre-deploy': 'pre-deploy job',
  switch: 'switch traffic',
  'post-deploy': 'post-deploy job',
};

/** A deployment's steps as they advance: each one's status, time and message, then the outcome. */
export function DeploymentProgress({ deployment, jobsHref }: { readonly deployment: Deployment; readonly jobsHref?: string }) {
  const d = deployment;
  const done = d.steps.filter((s) => s.status === 'succeeded').length;
  return (
    <section aria-label={`Deployment of ${d.release}`}>
      <p role="status">
        {d.action === 'rollback' ? 'Rollback' : d.action === 'promote' ? `Promotion from ${d.promotedFrom ?? '?'}` : 'Deployment'} of{' '}
        <strong>{d.release}</strong>: <StatusBadge status={d.status} />{' '}
        {d.status === 'in-progress' ? (
          <span class="progress">
            {done} of {d.steps.length} steps done
          </span>
        ) : (
          <span class="muted">in {duration(d.finishedAt ? Date.parse(d.finishedAt) - Date.parse(d.createdAt) : null)}</span>
        )}
      </p>
      <ol class="steps">
        {d.steps.map((s) => (
          <li key={s.id}>
            <span class="step-name">
              {STEP_NAMES[s.kind] ?? s.kind}
              {s.block ? ` ${s.block}` : ''}
            </span>
            <StatusBadge status={s.status} />
            <span class="muted">{s.startedAt && s.endedAt ? duration(Date.parse(s.endedAt) - Date.parse(s.startedAt)) : ''}</span>
            <span>
              {s.message}
              {s.runId && jobsHref ? (
                <>
                  {' '}
                  <a href={`${jobsHref}?job=${s.block ?? ''}&run=${s.runId}`}>see the run's output</a>
                </>
              ) : null}
            </span>
          </li>
        ))}
      </ol>
      {d.status === 'failed' ? (
        <div class="alert" role="alert">
          Failed at <code>{d.failedStep ?? '?'}</code>: {d.error}. The environment serves what it served before.
        </div>
      ) : null}
      {d.failedJobs.length > 0 ? (
        <p class="notice">
          The deployment succeeded, but these post-deploy jobs failed: <code>{d.failedJobs.join(', ')}</code>.
        </p>
      ) : null}
    </section>
  );
}

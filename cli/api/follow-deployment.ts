import { data } from './calls';
import { openEventStream } from './event-stream';
import type { Deployment } from './types';
import type { Connection } from '../session';

const POLL_MS = 1000;

/**
 * Follows a deployment until it ends, calling `onChange` with the record each time it changes.
 * Locally the API streams it (`?follow=true`, server-sent events); a control API that cannot
 * stream (on AWS it answers 400 FOLLOW_NOT_AVAILABLE) or a dropped stream falls back to polling.
 */
export async function followDeployment(
  conn: Connection,
  where: { project: string; env: string },
  first: Deployment,
  onChange: (deployment: Deployment) => void,
): Promise<Deployment> {
  onChange(first);
  if (first.status !== 'in-progress') return first;
  const streamed = await streamDeployment(conn, where, first, onChange);
  return streamed ?? pollDeployment(conn, where, first, onChange);
}

/** The deployment's end as the stream told it; undefined when the stream is not available. */
function streamDeployment(
  conn: Connection,
  { project, env }: { project: string; env: string },
  first: Deployment,
  onChange: (deployment: Deployment) => void,
): Promise<Deployment | undefined> {
  const url = `${conn.url}/v1/projects/${encodeURIComponent(project)}/environments/${encodeURIComponent(env)}/deployments/${encodeURIComponent(first.id)}?follow=true`;
  return new Promise((resolve) => {
    let last = first;
    const stream = openEventStream(
      url,
      conn.token,
      {
        deployment: (text) => {
          last = JSON.parse(text) as Deployment;
          onChange(last);
        },
        end: () => {
          stream.close();
          resolve(last.status === 'in-progress' ? undefined : last);
        },
      },
      (_error, s) => {
        s.close();
        resolve(undefined);
      },
    );
  });
}

async function pollDeployment(
  conn: Connection,
  { project, env }: { project: string; env: string },
  first: Deployment,
  onChange: (deployment: Deployment) => void,
): Promise<Deployment> {
  let last = first;
  for (;;) {
    const now = await data(
      conn.api.GET('/v1/projects/{project}/environments/{env}/deployments/{deployment}', {
        params: { path: { project, env, deployment: first.id } },
      }),
    );
    if (now.updatedAt !== last.updatedAt || now.status !== last.status) onChange(now);
    last = now;
    if (now.status !== 'in-progress') return now;
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

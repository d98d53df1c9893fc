import { data } from './calls';
import type { Comparison } from './types';
import type { Connection } from '../session';
import { CliError } from '../errors';

/**
 * What Tag & Deploy of `version` would change in an environment, before the release exists: the
 * API's compare with `?untagged=true` (the project as tagging now would freeze it), its `to`
 * named after the version about to be tagged.
 */
export async function previewTag(conn: Connection, project: string, env: string, version: string): Promise<Comparison> {
  const { api } = conn;
  const existing = await api.GET('/v1/projects/{project}/releases/{version}', { params: { path: { project, version } } });
  if (existing.response.ok) {
    throw new CliError(
      'RELEASE_EXISTS',
      `${project} already has release ${version}: deploy it with --release ${version}, or tag a new version`,
    );
  }
  const comparison = await data(
    api.GET('/v1/projects/{project}/environments/{env}/compare', { params: { path: { project, env }, query: { untagged: 'true' } } }),
  );
  return { ...comparison, to: { ...comparison.to, release: version } };
}

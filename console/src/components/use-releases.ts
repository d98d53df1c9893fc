import { unwrap } from '../../../client/kinto-client';
import { useKinto } from '../api/kinto-context';
import { useLoad } from './use-load';

/** A project's releases, newest first (the Tag & Deploy and tag dialogs suggest the next version from them). */
export function useReleases(project: string) {
  const { api } = useKinto();
  return useLoad(
    async (signal) =>
      unwrap(await api.GET('/v1/projects/{project}/releases', { params: { path: { project }, query: { limit: '1000' } }, signal })).data,
    [project],
  );
}

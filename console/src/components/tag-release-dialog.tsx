import { useEffect, useId, useState } from 'preact/hooks';
import { unwrap } from '../../../client/kinto-client';
import { useKinto } from '../api/kinto-context';
import type { Block, Build } from '../api/types';
import { nextRevision } from '../api/versions';
import { Dialog } from './dialog';
import { ErrorNote } from './error-note';
import { shortCommit } from './time';
import { useAction } from './use-action';
import { useLoad } from './use-load';
import { useReleases } from './use-releases';

/**
 * Tag a release without deploying it: every block frozen with its newest successful build, or
 * with a build pinned here.
 */
export function TagReleaseDialog({
  project,
  blocks,
  onClose,
}: {
  project: string;
  blocks: readonly Block[];
  onClose: (tagged: boolean) => void;
}) {
  const { api } = useKinto();
  const [version, setVersion] = useState('');
  const [notes, setNotes] = useState('');
  const [pinned, setPinned] = useState<Record<string, string>>({});
  const action = useAction();
  const id = useId();
  const releases = useReleases(project);
  useEffect(() => {
    if (releases.data && !version) setVersion(nextRevision(releases.data.map((r) => r.version)));
  }, [releases.data]);
  const builds = useLoad(
    async (signal) =>
      Object.fromEntries(
        await Promise.all(
          blocks.map(async (b): Promise<[string, Build[]]> => {
            const list = unwrap(
              await api.GET('/v1/projects/{project}/blocks/{block}/builds', {
                params: { path: { project, block: b.name }, query: { limit: '20' } },
                signal,
              }),
            ).data;
            return [b.name, list.filter((x) => x.status === 'succeeded')];
          }),
        ),
      ),
    [project, blocks],
  );
  return (
    <Dialog title="Tag a release" onClose={() => onClose(false)}>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void action.run(async () => {
            const pins = Object.fromEntries(
              Object.entries(pinned)
                .filter(([, build]) => build)
                .map(([b, build]) => [b, { build }]),
            );
            unwrap(
              await api.POST('/v1/projects/{project}/releases', {
                params: { path: { project } },
                body: { version, notes, ...(Object.keys(pins).length ? { blocks: pins } : {}) },
              }),
            );
            onClose(true);
          });
        }}
      >
        <label for={`${id}-version`}>
          Version <span class="hint">— MAJOR.MINOR.REVISION</span>
        </label>
        <input id={`${id}-version`} class="mono" value={version} onInput={(e) => setVersion(e.currentTarget.value)} required autoFocus />
        <label for={`${id}-notes`}>Notes</label>
        <textarea id={`${id}-notes`} rows={2} value={notes} onInput={(e) => setNotes(e.currentTarget.value)} />
        <fieldset>
          <legend>Builds</legend>
          {blocks.map((b) => (
            <div key={b.name}>
              <label for={`${id}-build-${b.name}`}>{b.name}</label>
              <select
                id={`${id}-build-${b.name}`}
                value={pinned[b.name] ?? ''}
                onChange={(e) => setPinned({ ...pinned, [b.name]: e.currentTarget.value })}
              >
                <option value="">newest successful build</option>
                {(builds.data?.[b.name] ?? []).map((x) => (
                  <option key={x.id} value={x.id}>
                    {shortCommit(x.commit)} — built {new Date(x.createdAt).toLocaleString()}
                  </option>
                ))}
              </select>
            </div>
          ))}
        </fieldset>
        <ErrorNote error={action.error ?? builds.error} />
        <div class="form-actions">
          <button type="button" class="secondary" onClick={() => onClose(false)}>
            Cancel
          </button>
          <button type="submit" disabled={action.busy || !version}>
            {action.busy ? 'Tagging…' : 'Tag release'}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

import { useState } from 'preact/hooks';
import { unwrap } from '../../../client/kinto-client';
import { useKinto } from '../api/kinto-context';
import type { KeptData } from '../api/types';
import { ConfirmNameDialog } from './confirm-dialogs';
import { announceKeptDataDeletion } from './deletion-notice';

/** Kept data by environment, in the order the API lists it. */
function byEnvironment(kept: readonly KeptData[]): [string, KeptData[]][] {
  const groups = new Map<string, KeptData[]>();
  for (const k of kept) groups.set(k.environmentId, [...(groups.get(k.environmentId) ?? []), k]);
  return [...groups];
}

/**
 * The custom services' data that deleted environments left (`GET /v1/kept-data`), on the Projects
 * page, and deleting it (the environment id typed). Nothing shows while there is none. `reload`
 * loads the list again: after a deletion (the dialog stays, "Deleting…", until the row is gone),
 * and when the dialog is closed (after an error, the list shows what is there now).
 */
export function KeptDataSection({ kept, reload }: { readonly kept: readonly KeptData[]; readonly reload: () => Promise<unknown> }) {
  const { api } = useKinto();
  const [deleting, setDeleting] = useState<{ environmentId: string; folders: KeptData[] }>();
  if (kept.length === 0) return null;
  return (
    <section aria-labelledby="kept-data">
      <h2 id="kept-data">Kept data</h2>
      <p class="muted">
        Data that deleted environments' custom services left behind: the environments were deleted without it. It takes storage until it is
        deleted; copy what you need from its location first.
      </p>
      <div class="table-wrap">
        <table class="kept-data">
          <thead>
            <tr>
              <th scope="col">Environment id</th>
              <th scope="col">Block</th>
              <th scope="col">Location</th>
              <th scope="col">
                <span class="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          {byEnvironment(kept).map(([environmentId, folders]) => (
            <tbody key={environmentId}>
              {folders.map((f, i) => (
                <tr key={f.block}>
                  {i === 0 ? (
                    <th scope="rowgroup" rowSpan={folders.length}>
                      <code>{environmentId}</code>
                    </th>
                  ) : null}
                  <td>{f.block}</td>
                  <td>
                    <code>{f.location}</code>
                  </td>
                  {i === 0 ? (
                    <td class="num" rowSpan={folders.length}>
                      <button type="button" class="danger small" onClick={() => setDeleting({ environmentId, folders })}>
                        Delete data<span class="visually-hidden"> of environment {environmentId}</span>
                      </button>
                    </td>
                  ) : null}
                </tr>
              ))}
            </tbody>
          ))}
        </table>
      </div>
      {deleting ? (
        <ConfirmNameDialog
          kind="data of environment"
          name={deleting.environmentId}
          consequence={`The data its custom services left (${deleting.folders.map((f) => f.block).join(', ')}) is deleted for good: copy what you need from its location first.`}
          onClose={() => {
            setDeleting(undefined);
            void reload();
          }}
          onConfirm={async () => {
            const { environmentId } = deleting;
            const { data } = unwrap(
              await api.DELETE('/v1/kept-data/{environmentId}', {
                params: { path: { environmentId } },
                body: { confirm: environmentId },
              }),
            );
            await reload();
            setDeleting(undefined);
            announceKeptDataDeletion('/', environmentId, data.deletedData);
          }}
        />
      ) : null}
    </section>
  );
}

import { useId, useState } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import { unwrap } from '../../../client/kinto-client';
import { useKinto } from '../api/kinto-context';
import type { Project } from '../api/types';
import { DeleteProjectDialog } from '../components/delete-project-dialog';
import { Dialog } from '../components/dialog';
import { EmptyState, Loading } from '../components/empty-state';
import { ErrorNote } from '../components/error-note';
import { KeptDataSection } from '../components/kept-data-section';
import { usePageTitle } from '../components/page-title';
import { When } from '../components/time';
import { useAction } from '../components/use-action';
import { useLoad } from '../components/use-load';

/** Projects: list, create, delete (typing the name); and the data deleted environments left, if any. */
export function ProjectsPage() {
  usePageTitle('Projects');
  const { api } = useKinto();
  const projects = useLoad(
    async (signal) => unwrap(await api.GET('/v1/projects', { params: { query: { limit: '1000' } }, signal })).data,
    [],
  );
  const kept = useLoad(async (signal) => unwrap(await api.GET('/v1/kept-data', { signal })).data, []);
  const [creating, setCreating] = useState(false);
  const [deleting, setDeleting] = useState<Project>();
  return (
    <>
      <div class="page-head">
        <div>
          <h1>Projects</h1>
          <p>A project combines blocks (websites, services, jobs) and deploys them to its environments.</p>
        </div>
        <button type="button" onClick={() => setCreating(true)}>
          New project
        </button>
      </div>
      <ErrorNote error={projects.error} />
      {!projects.data ? (
        projects.error ? null : (
          <Loading what="projects" />
        )
      ) : projects.data.length === 0 ? (
        <EmptyState title="No projects yet">
          <p>Create a project, then add a block from a git repo to it.</p>
          <button type="button" onClick={() => setCreating(true)}>
            Create your first project
          </button>
        </EmptyState>
      ) : (
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Description</th>
                <th scope="col">Created</th>
                <th scope="col">
                  <span class="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {projects.data.map((p) => (
                <tr key={p.id}>
                  <td>
                    <a href={`/projects/${p.name}`}>{p.name}</a>
                  </td>
                  <td>{p.description || <span class="muted">—</span>}</td>
                  <td>
                    <When iso={p.createdAt} />
                  </td>
                  <td class="num">
                    <button type="button" class="danger small" onClick={() => setDeleting(p)}>
                      Delete<span class="visually-hidden"> project {p.name}</span>
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {/* Its own error only once the projects loaded: an unreachable API is said once. */}
      {projects.data ? <ErrorNote error={kept.error} /> : null}
      {kept.data ? <KeptDataSection kept={kept.data} reload={kept.reload} /> : null}
      {creating ? <CreateProjectDialog onClose={() => setCreating(false)} /> : null}
      {deleting ? (
        <DeleteProjectDialog
          name={deleting.name}
          onClose={() => setDeleting(undefined)}
          onDeleted={async () => {
            // The dialog stays ("Deleting…") until the list no longer shows the project (and shows
            // the data its environments left, if the deletion kept it).
            await Promise.all([projects.reload(), kept.reload()]);
            setDeleting(undefined);
          }}
        />
      ) : null}
    </>
  );
}

function CreateProjectDialog({ onClose }: { readonly onClose: () => void }) {
  const { api } = useKinto();
  const { route } = useLocation();
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const action = useAction();
  const nameId = useId();
  const descriptionId = useId();
  return (
    <Dialog title="New project" onClose={onClose}>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void action.run(async () => {
            const { data } = unwrap(await api.POST('/v1/projects', { body: { name, ...(description ? { description } : {}) } }));
            route(`/projects/${data.name}`);
          });
        }}
      >
        <label for={nameId}>
          Name <span class="hint">— lower-case letters, digits and single hyphens, starting with a letter</span>
        </label>
        <input id={nameId} value={name} onInput={(e) => setName(e.currentTarget.value)} required autoFocus autoComplete="off" />
        <label for={descriptionId}>Description</label>
        <input id={descriptionId} value={description} onInput={(e) => setDescription(e.currentTarget.value)} autoComplete="off" />
        <ErrorNote error={action.error} />
        <div class="form-actions">
          <button type="button" class="secondary" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" disabled={action.busy || !name}>
            {action.busy ? 'Creating…' : 'Create project'}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
